//! Checks of the grid kinds: the whole U-Net's and residual CNN's gradients (parameters and
//! inputs, both paddings, batch norm with batch statistics and with running averages) against
//! central differences, the Jacobian rows against the backward pass, running averages, and
//! the same bits on one and on two threads.

use super::resnet::ResNetParams;
use super::unet::UNetParams;
use crate::net::conv::Padding;
use crate::net::network::Network;
use crate::net::ports::{GridShape, NetworkIo, Port};
use crate::net::table::NetworkKind;
use crate::net::Activation;
use nalgebra::DMatrix;

use super::kind::Norm;

/// Central-difference step of a parameter or input (values of order 1). The networks use
/// `tanh`: smooth, so the truncation is `O(h²)`; the rounding of the `f32` outputs over `2h`
/// stays below `1e-3`; a max-pool window whose two largest values lie within `h` of each
/// other would break the comparison, which the fixed inputs avoid.
const STEP: f64 = 1e-3;
/// Tolerance per derivative relative to the largest derivative (at least 1).
const TOLERANCE: f64 = 1e-2;

/// A grid of `channels × ny × nx`.
fn port(channels: usize, ny: usize, nx: usize, periodic: bool) -> Port {
    Port {
        len: channels * ny * nx,
        grid: Some(GridShape {
            channels,
            ny,
            nx,
            periodic,
        }),
    }
}

fn io(inputs: usize, outputs: usize, n: usize, periodic: bool) -> NetworkIo {
    NetworkIo {
        input: port(inputs, n, n, periodic),
        output: port(outputs, n, n, periodic),
    }
}

fn unet(norm: Norm, padding: Padding, activation: Activation) -> UNetParams {
    UNetParams {
        levels: 2,
        filters: 4,
        norm,
        activation,
        padding,
    }
}

fn resnet(norm: Norm, padding: Padding) -> ResNetParams {
    ResNetParams {
        blocks: 2,
        filters: 4,
        norm,
        activation: Activation::Tanh,
        padding,
    }
}

fn batch(rows: usize, cols: usize, phase: f64) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |i, b| {
        ((i * 7 + b * 13) as f64 * 0.37 + phase).sin()
    })
}

/// `Σ ⟨c, f(x)⟩`.
fn weighted(net: &dyn Network, x: &DMatrix<f64>, c: &DMatrix<f64>) -> f64 {
    net.forward(x).component_mul(c).sum()
}

fn close(what: &str, analytic: &[f64], fd: &[f64]) {
    let scale = analytic.iter().fold(1.0f64, |m, g| m.max(g.abs()));
    for (i, (a, f)) in analytic.iter().zip(fd).enumerate() {
        assert!(
            (a - f).abs() <= TOLERANCE * scale,
            "{what}: entry {i}: analytic {a}, central difference {f} (scale {scale})"
        );
    }
}

/// Parameter gradient and input cotangent of `net` against central differences.
fn check_gradients(what: &str, net: &mut dyn Network, samples: usize) {
    let x = batch(net.inputs(), samples, 0.3);
    let c = batch(net.outputs(), samples, 1.1);
    let (grads, dx) = net.backward_with_input(&x, &c);
    assert_eq!(grads, net.backward(&x, &c), "{what}: backward");
    let theta = net.parameters();
    let mut fd = Vec::with_capacity(theta.len());
    for i in 0..theta.len() {
        let mut p = theta.clone();
        p[i] = theta[i] + STEP as f32;
        net.set_parameters(&p).unwrap();
        let up = weighted(net, &x, &c);
        p[i] = theta[i] - STEP as f32;
        net.set_parameters(&p).unwrap();
        let down = weighted(net, &x, &c);
        // The step actually taken in f32.
        let h = f64::from(theta[i] + STEP as f32) - f64::from(theta[i] - STEP as f32);
        fd.push((up - down) / h);
    }
    net.set_parameters(&theta).unwrap();
    let analytic: Vec<f64> = grads.to_vec().iter().map(|g| f64::from(*g)).collect();
    close(&format!("{what}: parameters"), &analytic, &fd);
    let fd_x: Vec<f64> = (0..x.len())
        .map(|i| {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += STEP;
            down[i] -= STEP;
            (weighted(net, &up, &c) - weighted(net, &down, &c)) / (2.0 * STEP)
        })
        .collect();
    close(&format!("{what}: inputs"), dx.as_slice(), &fd_x);
}

/// The whole U-Net (2 levels, 4 filters, on 8×8) and the residual CNN, with batch norm
/// (batch statistics: every sample's output depends on the whole batch) and without, both
/// paddings; and the U-Net in evaluation mode (running averages).
#[test]
fn grid_network_gradients_match_central_differences() {
    for padding in [Padding::Zero, Padding::Periodic] {
        let periodic = padding == Padding::Periodic;
        for norm in [Norm::Batch, Norm::None] {
            let kinds: [(&str, &dyn NetworkKind); 2] = [
                ("UNet", &unet(norm, padding, Activation::Tanh)),
                ("ResNet", &resnet(norm, padding)),
            ];
            for (name, kind) in kinds {
                let mut net = kind.build(&io(2, 1, 8, periodic), 5).unwrap();
                check_gradients(&format!("{name} {norm:?} {padding:?}"), net.as_mut(), 3);
            }
        }
        let mut trained = unet(Norm::Batch, padding, Activation::Tanh)
            .build(&io(2, 1, 8, periodic), 6)
            .unwrap();
        trained.forward(&batch(trained.inputs(), 4, 2.0));
        trained.update_statistics();
        let mut evaluation = trained
            .for_evaluation()
            .expect("batch norm evaluates otherwise");
        check_gradients(
            &format!("UNet evaluation {padding:?}"),
            evaluation.as_mut(),
            3,
        );
    }
}

/// The rows of `⟨c_j, f(x_j)⟩` add up to the backward pass of the batch; without batch
/// statistics their input cotangents are the backward pass's too.
#[test]
fn jacobian_rows_add_up_to_the_backward_pass() {
    for norm in [Norm::Batch, Norm::None] {
        let net = unet(norm, Padding::Zero, Activation::Relu)
            .build(&io(1, 2, 8, false), 7)
            .unwrap();
        let samples = 3;
        let x = batch(net.inputs(), samples, 0.1);
        let c = batch(net.outputs(), samples, 0.7);
        let (grads, dx) = net.backward_with_input(&x, &c);
        let p = net.num_parameters();
        let mut rows = vec![0.0; p * samples];
        let owner: Vec<usize> = (0..samples).collect();
        let dx_rows = net.linearise(&x).add_rows(&c, &owner, &mut rows);
        let summed: Vec<f64> = (0..p)
            .map(|i| (0..samples).map(|j| rows[j * p + i]).sum())
            .collect();
        let expected: Vec<f64> = grads.to_vec().iter().map(|g| f64::from(*g)).collect();
        // Each row is its own backward pass: sums in another order, f32 rounding apart.
        close(&format!("rows {norm:?}"), &summed, &expected);
        if norm == Norm::None {
            close("row input cotangents", dx_rows.as_slice(), dx.as_slice());
        }
    }
}

/// Training-mode passes record their statistics, a step folds them into the running averages,
/// the evaluation copy uses them, and they round-trip through `statistics`.
#[test]
fn running_averages_follow_the_training_passes() {
    let mut net = unet(Norm::Batch, Padding::Zero, Activation::Relu)
        .build(&io(1, 1, 8, false), 8)
        .unwrap();
    let initial = net.statistics();
    net.update_statistics();
    assert_eq!(
        net.statistics(),
        initial,
        "nothing recorded, nothing changes"
    );
    let x = batch(net.inputs(), 4, 0.0);
    let training = net.forward(&x);
    net.update_statistics();
    let updated = net.statistics();
    assert_ne!(updated, initial);
    let evaluation = net.for_evaluation().unwrap();
    assert_ne!(evaluation.forward(&x), training);
    // Evaluation is per sample: one sample alone gives its column of the batch.
    let one = evaluation.forward(&x.columns(1, 1).into_owned());
    assert_eq!(one.column(0), evaluation.forward(&x).column(1));
    let mut fresh = unet(Norm::Batch, Padding::Zero, Activation::Relu)
        .build(&io(1, 1, 8, false), 8)
        .unwrap();
    fresh.set_statistics(&updated).unwrap();
    assert_eq!(
        fresh.for_evaluation().unwrap().forward(&x),
        evaluation.forward(&x)
    );
    assert!(fresh.set_statistics(&updated[1..]).is_err());
}

/// Forward, backward and Jacobian rows of a U-Net with batch norm: the same bits on 1 and on
/// 2 threads.
#[test]
fn grid_networks_give_the_same_bits_on_one_and_two_threads() {
    let run = || {
        let net = unet(Norm::Batch, Padding::Periodic, Activation::Relu)
            .build(&io(2, 1, 16, true), 9)
            .unwrap();
        let x = batch(net.inputs(), 9, 0.5);
        let c = batch(net.outputs(), 9, 0.2);
        let (g, dx) = net.backward_with_input(&x, &c);
        let mut rows = vec![0.0; 2 * net.num_parameters()];
        net.linearise(&x)
            .add_rows(&c.columns(0, 2).into_owned(), &[0, 5], &mut rows);
        (net.forward(&x), g, dx, rows)
    };
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(run)
    };
    let (a, b) = (on(1), on(2));
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    assert_eq!(a.2, b.2);
    assert_eq!(a.3, b.3);
}

/// A clone computes what the original does.
#[test]
fn clones_are_the_same_network() {
    let net = unet(Norm::Batch, Padding::Zero, Activation::Relu)
        .build(&io(1, 1, 8, false), 10)
        .unwrap();
    let x = batch(net.inputs(), 2, 0.0);
    assert_eq!(net.clone_box().forward(&x), net.forward(&x));
}

/// A backward pass after a forward pass on the same inputs (which takes the kept tape) gives
/// the bits of a network that never ran forward, and after the parameters changed it uses the
/// new ones, not the kept pass of the old.
#[test]
fn kept_forward_passes_change_no_bits() {
    for norm in [Norm::None, Norm::Batch] {
        let kind = unet(norm, Padding::Zero, Activation::Tanh);
        let mut net = kind.build(&io(2, 1, 8, false), 5).unwrap();
        let x = batch(2 * 64, 3, 0.2);
        let c = batch(64, 3, 1.1);
        let fresh = |net: &dyn Network| net.clone_box().backward_with_input(&x, &c);
        let expected = fresh(net.as_ref());
        net.forward(&x);
        let (g, dx) = net.backward_with_input(&x, &c);
        assert_eq!(g.to_vec(), expected.0.to_vec(), "{norm:?}");
        assert_eq!(dx, expected.1);
        net.forward(&x);
        let mut p = net.parameters();
        p.iter_mut().for_each(|v| *v *= 0.5);
        net.set_parameters(&p).unwrap();
        let (g, _) = net.backward_with_input(&x, &c);
        assert_eq!(
            g.to_vec(),
            fresh(net.as_ref()).0.to_vec(),
            "{norm:?}: stale pass"
        );
        // Evaluation runs an evaluation-mode copy, which keeps nothing; without batch norm it
        // computes the training network's bits.
        let evaluation = net.for_evaluation().expect("an evaluation copy");
        if norm == Norm::None {
            assert_eq!(evaluation.forward(&x), net.forward(&x));
        }
    }
}
