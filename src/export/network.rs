//! A network as a safetensors file: one `f32` tensor per parameter tensor, named and shaped
//! by the network's kind ([`crate::net::Network::tensor_names`]), with the architecture in
//! the file's metadata.
//!
//! An MLP's layer `k` (from the input, 0-based) is `layers.k.weight`, shape `(out, in)`, and
//! `layers.k.bias`, shape `(out,)`: the layout of `torch.nn.Linear`, so
//! `linear.weight.copy_(tensors["layers.0.weight"])` loads it, and
//! `safetensors.numpy.load_file` gives numpy arrays. The network computes
//! `h_{k+1} = σ(W_k h_k + b_k)` with σ the metadata's `activation` after every hidden layer
//! and `output_activation` after the last. A `Linear` network is `weight` `(out, in)` and
//! `bias` `(out,)`, `y = weight @ x + bias`.

use crate::net::Network;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The metadata key `format` and its value in files written here.
pub const FORMAT: &str = "physinv-network-1";

/// One tensor: name, shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// The kind's name for it, e.g. `layers.<k>.weight` or `layers.<k>.bias`.
    pub name: String,
    /// E.g. `(out, in)` for a weight, `(out,)` for a bias.
    pub shape: Vec<usize>,
    /// Values in C order (a weight row-major).
    pub values: Vec<f32>,
}

/// `net`'s parameters as its named tensors ([`Network::tensor_names`]), then the values it
/// keeps besides them ([`Network::statistic_names`]: batch norm's running averages).
pub fn tensors(net: &dyn Network) -> Vec<Tensor> {
    let parameters = net.tensors().iter().map(|t| t.to_vec());
    let statistics = net.statistics();
    let mut rest = statistics.as_slice();
    let blocks = net.statistic_names().into_iter().map(move |(name, shape)| {
        let (head, tail) = rest.split_at(shape.iter().product::<usize>().min(rest.len()));
        rest = tail;
        (name, shape, head.to_vec())
    });
    net.tensor_names()
        .into_iter()
        .zip(parameters)
        .map(|((name, shape), values)| (name, shape, values))
        .chain(blocks)
        .map(|(name, shape, values)| Tensor {
            name,
            shape,
            values,
        })
        .collect()
}

/// The architecture of `net` as metadata: `format`, `kind`, `network` (kind and parameters as
/// RON), `inputs`, `outputs`, and the kind's own ([`Network::metadata`]: for an MLP `widths`
/// (JSON list, input first), `layers`, `activation`, `output_activation`; `forward`, the
/// equation in words).
pub fn architecture(net: &dyn Network) -> BTreeMap<String, String> {
    let arch = net.architecture();
    let mut metadata = net.metadata();
    metadata.extend([
        ("format".to_string(), FORMAT.to_string()),
        ("kind".to_string(), arch.kind.clone()),
        ("network".to_string(), arch.text()),
        ("inputs".to_string(), arch.inputs.to_string()),
        ("outputs".to_string(), arch.outputs.to_string()),
    ]);
    metadata
}

/// `values` as a JSON list, e.g. `[4, 32, 1]`.
pub fn json_list<T: serde::Serialize>(values: &[T]) -> String {
    serde_json::to_string(values).unwrap_or_default()
}

/// Writes `net` to `path` as safetensors (`F32`, little-endian), with [`architecture`] and
/// `metadata` in the file's metadata (`metadata` wins on equal keys). Atomic, like every file
/// physinv writes.
pub fn write_safetensors(
    path: &Path,
    net: &dyn Network,
    metadata: &BTreeMap<String, String>,
) -> crate::Result<()> {
    let tensors = tensors(net);
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let error = |e: safetensors::SafeTensorError| {
        crate::Error::Config(format!("{}: cannot write safetensors: {e}", path.display()))
    };
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, data)| {
            Ok((
                t.name.clone(),
                TensorView::new(Dtype::F32, t.shape.clone(), data)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(error)?;
    let mut info: HashMap<String, String> = architecture(net).into_iter().collect();
    info.extend(metadata.clone());
    let file = safetensors::serialize(views, Some(info)).map_err(error)?;
    crate::files::write_atomic(path, &file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{Activation, Mlp, MlpConfig};

    #[test]
    fn parameters_split_into_pytorch_shaped_layers() {
        let config = MlpConfig {
            inputs: 2,
            hidden: vec![3],
            outputs: 1,
            activation: Activation::Tanh,
            output_activation: Activation::Identity,
        };
        let mut net = Mlp::new(&config, 0).unwrap();
        let parameters: Vec<f32> = (0..13).map(|i| i as f32).collect();
        net.set_parameters(&parameters).unwrap();
        let t = tensors(&net);
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "layers.0.weight",
                "layers.0.bias",
                "layers.1.weight",
                "layers.1.bias"
            ]
        );
        assert_eq!(t[0].shape, [3, 2]);
        assert_eq!(t[2].shape, [1, 3]);
        assert_eq!(t[3].values, [12.0]);
        let metadata = architecture(&net);
        assert_eq!(metadata["widths"], "[2,3,1]");
        assert_eq!(metadata["kind"], "Mlp");
    }
}
