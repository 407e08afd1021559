//! The parameter-Jacobian rows of a grid network ([`crate::net::JacobianRows`]): one
//! backward pass per row, in parallel over rows, from the forward pass made once when the
//! network is linearised.
//!
//! Without batch statistics (no batch norm, or evaluation mode) a row is the backward pass of
//! its sample's image alone. With batch statistics every output depends on every image, so a
//! row is a backward pass over the whole batch with the cotangent on its sample only; its
//! input cotangent is then the part on its own sample (the part on the other samples, through
//! the statistics, is not returned).

use super::pass::{self, Tape};
use super::GridNet;
use crate::net::conv::batch_norm::Source;
use crate::net::network::{JacobianRows, Network};
use nalgebra::DMatrix;
use rayon::prelude::*;

/// A grid network linearised at a batch of inputs.
pub struct GridRows<'a> {
    pub(super) net: &'a GridNet,
    pub(super) params: Vec<Vec<f32>>,
    pub(super) tape: Tape,
}

impl GridRows<'_> {
    /// One row's parameter gradient (flat) and input cotangent.
    fn row(&self, cotangent: &[f32], owner: usize) -> (Vec<f32>, Vec<f32>) {
        let graph = &self.net.graph;
        let coupled = self.tape.source == Source::Batch && !graph.norms.is_empty();
        let (outputs, inputs) = (self.net.outputs(), self.net.inputs());
        let (grads, dx) = if coupled {
            let mut dy = vec![0.0; outputs * self.tape.batch];
            dy[owner * outputs..][..outputs].copy_from_slice(cotangent);
            let (g, dx) = pass::backward(graph, &self.params, &self.tape.view(), &dy, true);
            (g, dx.map(|dx| dx[owner * inputs..][..inputs].to_vec()))
        } else {
            let view = self.tape.image(graph, owner);
            pass::backward(graph, &self.params, &view, cotangent, true)
        };
        (grads.concat(), dx.unwrap_or_else(|| vec![0.0; inputs]))
    }
}

impl JacobianRows for GridRows<'_> {
    fn num_parameters(&self) -> usize {
        self.params.iter().map(Vec::len).sum()
    }

    fn add_rows(
        &self,
        cotangents: &DMatrix<f64>,
        owner: &[usize],
        rows: &mut [f64],
    ) -> DMatrix<f64> {
        let (p, r) = (self.num_parameters(), cotangents.ncols());
        assert_eq!(cotangents.nrows(), self.net.outputs(), "cotangent rows");
        assert_eq!(owner.len(), r, "one owner per cotangent");
        assert_eq!(rows.len(), p * r, "rows buffer");
        assert!(
            owner.iter().all(|o| *o < self.tape.batch),
            "owner outside the batch"
        );
        let columns: Vec<Vec<f32>> = rows
            .par_chunks_mut(p.max(1))
            .enumerate()
            .map(|(j, row)| {
                let c: Vec<f32> = cotangents.column(j).iter().map(|v| *v as f32).collect();
                let (g, dx) = self.row(&c, owner[j]);
                row.iter_mut().zip(g).for_each(|(r, g)| *r += f64::from(g));
                dx
            })
            .collect();
        DMatrix::from_fn(self.net.inputs(), r, |i, j| f64::from(columns[j][i]))
    }
}
