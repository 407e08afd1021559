//! A network as a safetensors file: one `f32` tensor per weight and bias, named like a
//! PyTorch `nn.Linear` stack, with the architecture in the file's metadata.
//!
//! Layer `k` (from the input, 0-based) is `layers.k.weight`, shape `(out, in)`, and
//! `layers.k.bias`, shape `(out,)`: the layout of `torch.nn.Linear`, so
//! `linear.weight.copy_(tensors["layers.0.weight"])` loads it, and
//! `safetensors.numpy.load_file` gives numpy arrays. The network computes
//! `h_{k+1} = σ(W_k h_k + b_k)` with σ the metadata's `activation` after every hidden layer
//! and `output_activation` after the last.

use crate::net::MlpConfig;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The metadata key `format` and its value in files written here.
pub const FORMAT: &str = "physinv-mlp-1";

/// One tensor: name, shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// `layers.<k>.weight` or `layers.<k>.bias`.
    pub name: String,
    /// `(out, in)` for a weight, `(out,)` for a bias.
    pub shape: Vec<usize>,
    /// Values in C order (a weight row-major).
    pub values: Vec<f32>,
}

/// Splits the flat `parameters` of a network of shape `config` (the order of
/// [`crate::net::Mlp::parameters`]: per layer the weight row-major, then the bias) into its
/// named tensors.
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] if `parameters` does not hold exactly
/// `config.num_parameters()` values.
pub fn tensors(config: &MlpConfig, parameters: &[f32]) -> crate::Result<Vec<Tensor>> {
    if parameters.len() != config.num_parameters() {
        return Err(crate::Error::DimensionMismatch {
            what: format!("parameters of a network with widths {:?}", config.widths()),
            expected: config.num_parameters(),
            got: parameters.len(),
        });
    }
    let mut rest = parameters;
    let mut out = Vec::new();
    for (k, pair) in config.widths().windows(2).enumerate() {
        let (inputs, outputs) = (pair[0], pair[1]);
        for (part, shape) in [("weight", vec![outputs, inputs]), ("bias", vec![outputs])] {
            let (values, tail) = rest.split_at(shape.iter().product());
            out.push(Tensor {
                name: format!("layers.{k}.{part}"),
                shape,
                values: values.to_vec(),
            });
            rest = tail;
        }
    }
    Ok(out)
}

/// The architecture of `config` as metadata: `format`, `widths` (JSON list, input first),
/// `layers`, `activation`, `output_activation` and `forward` (the equation in words).
pub fn architecture(config: &MlpConfig) -> BTreeMap<String, String> {
    let widths = config.widths();
    BTreeMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("widths".to_string(), json_list(&widths)),
        ("layers".to_string(), (widths.len() - 1).to_string()),
        (
            "activation".to_string(),
            config.activation.name().to_string(),
        ),
        (
            "output_activation".to_string(),
            config.output_activation.name().to_string(),
        ),
        (
            "forward".to_string(),
            "h[k+1] = activation(layers.k.weight @ h[k] + layers.k.bias) for every hidden \
             layer, output_activation after the last; h[0] is the network input"
                .to_string(),
        ),
    ])
}

/// `values` as a JSON list, e.g. `[4, 32, 1]`.
pub fn json_list<T: serde::Serialize>(values: &[T]) -> String {
    serde_json::to_string(values).unwrap_or_default()
}

/// Writes the network of shape `config` with `parameters` to `path` as safetensors (`F32`,
/// little-endian), with [`architecture`] and `metadata` in the file's metadata (`metadata`
/// wins on equal keys). Atomic, like every file physinv writes.
pub fn write_safetensors(
    path: &Path,
    config: &MlpConfig,
    parameters: &[f32],
    metadata: &BTreeMap<String, String>,
) -> crate::Result<()> {
    let tensors = tensors(config, parameters)?;
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
    let mut info: HashMap<String, String> = architecture(config).into_iter().collect();
    info.extend(metadata.clone());
    let file = safetensors::serialize(views, Some(info)).map_err(error)?;
    crate::files::write_atomic(path, &file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Activation;

    #[test]
    fn parameters_split_into_pytorch_shaped_layers() {
        let config = MlpConfig {
            inputs: 2,
            hidden: vec![3],
            outputs: 1,
            activation: Activation::Tanh,
            output_activation: Activation::Identity,
        };
        let parameters: Vec<f32> = (0..13).map(|i| i as f32).collect();
        let t = tensors(&config, &parameters).unwrap();
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
        assert!(tensors(&config, &parameters[1..]).is_err());
        assert_eq!(architecture(&config)["widths"], "[2,3,1]");
    }
}
