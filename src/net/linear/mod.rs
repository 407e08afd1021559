//! The network kind `Linear`: an affine policy `y = W x + b`, the controller of linear control
//! (a state-feedback gain `W` with an offset `b`), written `network: Linear()` or
//! `network: Linear(scale: 0.0)` in a scenario.
//!
//! Parameters: the weight `W` `(outputs × inputs)` row-major, then the bias `b` `(outputs,)`
//! (the order of a one-layer MLP with an identity output, and of `torch.nn.Linear`). They are
//! `f32`; every pass is computed in `f64` from them, so the derivatives are exact: the
//! parameter gradient of `Σ_b ⟨c_b, W x_b + b⟩` is `(Σ_b c_b x_bᵀ, Σ_b c_b)`, the input
//! cotangent `Wᵀ c_b`, and the Jacobian row of a cotangent `c_j` at sample `x_{o(j)}` is
//! `(c_j x_{o(j)}ᵀ, c_j)`. The kind is written without dfdx, as a user's crate would write one.

use crate::net::grads::ParamGrads;
use crate::net::network::{JacobianRows, Network};
use crate::net::params::ParamTensor;
use crate::net::ports::NetworkIo;
use crate::net::sequence::{BackwardSequence, Summed};
use crate::net::table::{Architecture, NetworkKind, NetworkSize};
use crate::sim::ParamError;
use nalgebra::DMatrix;
use rand::distributions::{Distribution, Uniform};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Parameters of the `Linear` kind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearParams {
    /// Initial weights and biases are uniform in `±scale/√inputs` (default 1, the default of
    /// `torch.nn.Linear`; 0 starts from the zero policy). Finite and ≥ 0.
    #[serde(default = "one")]
    pub scale: f64,
}

fn one() -> f64 {
    1.0
}

impl NetworkKind for LinearParams {
    fn check(&self, io: &NetworkIo) -> Result<(), ParamError> {
        let (inputs, outputs) = (io.input.len, io.output.len);
        if !(self.scale.is_finite() && self.scale >= 0.0) {
            return Err(ParamError::new(
                "scale",
                format!("must be finite and ≥ 0, got {}", self.scale),
            ));
        }
        inputs
            .checked_mul(outputs)
            .and_then(|w| w.checked_add(outputs))
            .map(|_| ())
            .ok_or_else(|| {
                ParamError::new(
                    "",
                    format!("the parameter count of a {outputs} × {inputs} weight overflows"),
                )
            })
    }

    fn size(&self, io: &NetworkIo) -> NetworkSize {
        let size = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        NetworkSize::affine(size(io.input.len), size(io.output.len))
    }

    fn build(&self, io: &NetworkIo, seed: u64) -> crate::Result<Box<dyn Network>> {
        Ok(Box::new(Linear::new(
            self,
            io.input.len,
            io.output.len,
            seed,
        )?))
    }
}

/// The affine map `y = W x + b` with `f32` parameters.
#[derive(Debug, Clone)]
pub struct Linear {
    architecture: Architecture,
    inputs: usize,
    outputs: usize,
    /// `[W, b]`.
    params: Vec<ParamTensor>,
}

impl Linear {
    /// The `Linear` kind with `params`: weights and biases uniform in `±scale/√inputs` from
    /// ChaCha8 seeded by `seed` (same parameters and seed ⇒ the same bits).
    ///
    /// Returns [`crate::Error::Network`] if `inputs` or `outputs` is 0 or the parameters do
    /// not check.
    pub fn new(
        params: &LinearParams,
        inputs: usize,
        outputs: usize,
        seed: u64,
    ) -> crate::Result<Linear> {
        let io = NetworkIo::flat(inputs, outputs);
        params
            .check(&io)
            .map_err(|e| crate::Error::Network(format!("Linear {}: {}", e.field, e.message)))?;
        let architecture = Architecture::of("Linear", params, &io);
        let mut net = Linear::zeros(architecture, inputs, outputs);
        if params.scale > 0.0 {
            let bound = (params.scale / (inputs as f64).sqrt()) as f32;
            let dist = Uniform::new_inclusive(-bound, bound);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let values: Vec<f32> = (0..net.num_parameters())
                .map(|_| dist.sample(&mut rng))
                .collect();
            net.set_parameters(&values)?;
        }
        Ok(net)
    }

    /// The zero map with `inputs` inputs and `outputs` outputs, reporting `architecture`
    /// (for kinds built on this one).
    ///
    /// # Panics
    /// If `inputs` or `outputs` is 0.
    pub fn zeros(architecture: Architecture, inputs: usize, outputs: usize) -> Linear {
        assert!(
            inputs > 0 && outputs > 0,
            "a Linear network needs inputs and outputs"
        );
        Linear {
            architecture,
            inputs,
            outputs,
            params: vec![
                ParamTensor::from_vec(vec![0.0; inputs * outputs]),
                ParamTensor::from_vec(vec![0.0; outputs]),
            ],
        }
    }

    /// `W` `(outputs × inputs)` in `f64`.
    pub fn weight(&self) -> DMatrix<f64> {
        let w = self.params[0].to_vec();
        DMatrix::from_row_iterator(self.outputs, self.inputs, w.iter().map(|&v| f64::from(v)))
    }

    /// `b` `(outputs × 1)` in `f64`.
    pub fn bias(&self) -> DMatrix<f64> {
        let b = self.params[1].to_vec();
        DMatrix::from_iterator(self.outputs, 1, b.iter().map(|&v| f64::from(v)))
    }

    fn check_shapes(&self, inputs: &DMatrix<f64>, cotangent: Option<&DMatrix<f64>>) {
        assert_eq!(
            inputs.nrows(),
            self.inputs,
            "network input has {} rows, expected {} (inputs × batch)",
            inputs.nrows(),
            self.inputs
        );
        if let Some(c) = cotangent {
            assert!(
                c.nrows() == self.outputs && c.ncols() == inputs.ncols(),
                "output cotangent is {}×{}, expected {}×{} (outputs × batch)",
                c.nrows(),
                c.ncols(),
                self.outputs,
                inputs.ncols()
            );
        }
    }
}

impl Network for Linear {
    fn architecture(&self) -> Architecture {
        self.architecture.clone()
    }

    fn inputs(&self) -> usize {
        self.inputs
    }

    fn outputs(&self) -> usize {
        self.outputs
    }

    fn tensors(&self) -> &[ParamTensor] {
        &self.params
    }

    fn tensors_mut(&mut self) -> &mut [ParamTensor] {
        &mut self.params
    }

    fn tensor_names(&self) -> Vec<(String, Vec<usize>)> {
        vec![
            ("weight".to_string(), vec![self.outputs, self.inputs]),
            ("bias".to_string(), vec![self.outputs]),
        ]
    }

    /// `forward`: the equation.
    fn metadata(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(
            "forward".to_string(),
            "y = weight @ x + bias; x is the network input".to_string(),
        )])
    }

    fn forward(&self, inputs: &DMatrix<f64>) -> DMatrix<f64> {
        self.check_shapes(inputs, None);
        let mut y = self.weight() * inputs;
        let b = self.bias();
        for mut column in y.column_iter_mut() {
            column += &b;
        }
        y
    }

    fn backward(&self, inputs: &DMatrix<f64>, output_cotangent: &DMatrix<f64>) -> ParamGrads {
        self.check_shapes(inputs, Some(output_cotangent));
        // ∂W = C Xᵀ (outputs × inputs), written row-major; ∂b = Σ_b c_b.
        let dw = output_cotangent * inputs.transpose();
        let w: Vec<f32> = dw.transpose().iter().map(|&v| v as f32).collect();
        let b: Vec<f32> = output_cotangent
            .column_sum()
            .iter()
            .map(|&v| v as f32)
            .collect();
        ParamGrads::from_tensors(vec![w, b])
    }

    fn backward_with_input(
        &self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> (ParamGrads, DMatrix<f64>) {
        let grads = self.backward(inputs, output_cotangent);
        (grads, self.weight().tr_mul(output_cotangent))
    }

    fn backward_sequence(&self) -> Box<dyn BackwardSequence + '_> {
        Box::new(Summed::new(self))
    }

    fn linearise(&self, inputs: &DMatrix<f64>) -> Box<dyn JacobianRows + '_> {
        self.check_shapes(inputs, None);
        Box::new(LinearRows {
            weight: self.weight(),
            inputs: inputs.clone(),
        })
    }

    fn clone_box(&self) -> Box<dyn Network> {
        Box::new(self.clone())
    }
}

/// Rows of the parameter Jacobian of a [`Linear`] at a batch of inputs: `(c_j x_{o(j)}ᵀ, c_j)`.
struct LinearRows {
    weight: DMatrix<f64>,
    inputs: DMatrix<f64>,
}

impl JacobianRows for LinearRows {
    fn num_parameters(&self) -> usize {
        let (outputs, inputs) = self.weight.shape();
        outputs * inputs + outputs
    }

    fn add_rows(
        &self,
        cotangents: &DMatrix<f64>,
        owner: &[usize],
        rows: &mut [f64],
    ) -> DMatrix<f64> {
        let p = self.num_parameters();
        let (outputs, inputs) = self.weight.shape();
        assert_eq!(
            owner.len(),
            cotangents.ncols(),
            "one owner per cotangent column"
        );
        assert_eq!(cotangents.nrows(), outputs, "one cotangent row per output");
        assert_eq!(
            rows.len(),
            cotangents.ncols() * p,
            "one row of length P per cotangent"
        );
        for (j, row) in rows.chunks_exact_mut(p).enumerate() {
            let x = self.inputs.column(owner[j]);
            let c = cotangents.column(j);
            let (block, bias) = row.split_at_mut(inputs * outputs);
            for (o, chunk) in block.chunks_exact_mut(inputs).enumerate() {
                chunk
                    .iter_mut()
                    .zip(x.iter())
                    .for_each(|(r, &x)| *r += c[o] * x);
            }
            bias.iter_mut().zip(c.iter()).for_each(|(r, &c)| *r += c);
        }
        self.weight.tr_mul(cotangents)
    }
}
