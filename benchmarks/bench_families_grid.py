"""Chapter 17's comparison of every family, repeated on the 25-Gaussian grid (and the EBM
on the digits), precomputed because the chapter's 60-second budget holds only the ring.

    python benchmarks/bench_families_grid.py [--out FILE.json]

Each family is trained with the recipe Chapter 17, section 17.8, uses on the ring, on
2,000 grid points (``dlbook.data.gaussian_grid``, seed 0; 1,000 for validation, seed 1;
2,500 held out, seed 2), and scored as the chapter scores the ring: held-out
log-likelihood where the family has one (the flow exactly, the VAE by the IWAE bound
with k = 100, scikit-learn's GaussianMixture and KernelDensity), energy distance from
2,500 samples to the held-out points, modes captured and high-quality samples by
VEEGAN's protocol (``metrics.mode_coverage``, std 0.05), and the process CPU seconds of
training. The chapter's own EBM row is 2-D only; here the same short-run recipe is also
tried on the digits (64 dimensions, chains started uniformly in [0, 1]^64) to say what it
gives there. Results go to ``benchmarks/families_grid.json``, which the chapter reads.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch
from torch import Tensor

import dlbook
from dlbook.generative import diffusion, ebm, flows, gan, metrics, vae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("families_grid.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, _ = dlbook.data.gaussian_grid(2000, seed=0)
    X_val, _ = dlbook.data.gaussian_grid(1000, seed=1)
    X_test, _ = dlbook.data.gaussian_grid(2500, seed=2)
    X, X_val, X_test = X.float(), X_val.float(), X_test.float()
    centres = metrics.grid_centres()
    rows: dict[str, dict[str, float | int | None]] = {}

    def record(name: str, ll: float | None, samples: Tensor | None, sec: float) -> None:
        entry: dict[str, float | int | None] = {"log_lik": ll, "cpu_seconds": round(sec, 1)}
        if samples is not None:
            cover = metrics.mode_coverage(samples.double(), centres, std=0.05)
            entry.update(
                modes=cover.modes,
                high_quality=cover.high_quality,
                energy=metrics.energy_distance(samples.float(), X_test).item(),
            )
        rows[name] = entry
        print(name, entry, flush=True)

    torch.manual_seed(0)
    flow = flows.RealNVP(2, num_layers=6, hidden=64)
    sec = metrics.cpu_seconds(
        lambda: flows.train_flow(flow, X, steps=600, generator=dlbook.generator(0))
    )[1]
    with torch.no_grad():
        record(
            "RealNVP flow",
            flow.log_prob(X_test).mean().item(),
            flow.sample(2500, generator=dlbook.generator(1)),
            sec,
        )

    torch.manual_seed(0)
    linear = diffusion.NoiseSchedule.from_betas(diffusion.linear_betas())
    ddpm = diffusion.DDPM(diffusion.EpsilonMLP(2, hidden=128), linear, dim=2)
    sec = metrics.cpu_seconds(
        lambda: ddpm.fit(X, steps=2000, batch_size=256, lr=2e-3, generator=dlbook.generator(0))
    )[1]
    record("DDPM diffusion", None, ddpm.sample(2500, generator=dlbook.generator(1)), sec)

    torch.manual_seed(0)
    model = vae.VAE(2, 2, (64, 64))
    sec = metrics.cpu_seconds(
        lambda: vae.train_vae(
            model, X, steps=1500, batch_size=128, lr=2e-3, generator=dlbook.generator(0)
        )
    )[1]
    with torch.no_grad():
        record(
            "VAE (IWAE bound)",
            model.iwae_bound(X_test, 100, generator=dlbook.generator(1)).mean().item(),
            model.sample(2500, generator=dlbook.generator(2)),
            sec,
        )

    torch.manual_seed(0)
    energy = ebm.EnergyMLP(hidden=64, bounds=5.0)
    sec = metrics.cpu_seconds(
        lambda: ebm.train_ebm(
            energy, X, steps=300, batch_size=128, lr=3e-3, generator=dlbook.generator(0)
        )
    )[1]
    record(
        "EBM (short-run Langevin)",
        None,
        energy.sample(2500, generator=dlbook.generator(1)).detach(),
        sec,
    )

    torch.manual_seed(0)
    G = gan.Generator(2, latent_dim=2, hidden=64, depth=3)
    D = gan.Discriminator(2, hidden=64, depth=3)
    sec = metrics.cpu_seconds(
        lambda: gan.train_gan(
            G,
            D,
            X,
            steps=1500,
            batch_size=128,
            lr=2e-3,
            lr_end=0.0,
            generator=dlbook.generator(0),
        )
    )[1]
    record("GAN (non-saturating)", None, G.sample(2500, generator=dlbook.generator(1)), sec)

    (ll, k), sec = metrics.cpu_seconds(
        lambda: metrics.gmm_log_likelihood(X, X_val, X_test, n_components=(16, 25, 32))
    )
    record("Gaussian mixture (EM)", ll.mean().item(), None, sec)
    rows["Gaussian mixture (EM)"]["components"] = k
    (ll, _h), sec = metrics.cpu_seconds(
        lambda: metrics.kde_log_likelihood(X, X_val, X_test, bandwidths=torch.logspace(-2.5, 0, 11))
    )
    record("kernel density", ll.mean().item(), None, sec)

    # The EBM's short-run recipe on the digits (not in the chapter's own table).
    digits = dlbook.data.load_digits()
    torch.manual_seed(0)
    digit_ebm = ebm.EnergyMLP(dim=64, hidden=128, bounds=1.0)
    sec = metrics.cpu_seconds(
        lambda: ebm.train_ebm(
            digit_ebm,
            digits.X_train.float(),
            steps=300,
            batch_size=128,
            lr=3e-3,
            generator=dlbook.generator(0),
        )
    )[1]
    samples = digit_ebm.sample(360, generator=dlbook.generator(1)).detach()
    digit_row = {
        "energy": metrics.energy_distance(samples.float(), digits.X_test.float()).item(),
        "cpu_seconds": round(sec, 1),
    }
    print("EBM digits", digit_row, flush=True)
    result = {
        "grid": rows,
        "ebm_digits": digit_row,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
