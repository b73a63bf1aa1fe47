"""Chapter 16's mode-collapse measurement with the longer recipe, over several seeds.

    python benchmarks/bench_gan_modes.py [--seeds 0 1 2] [--steps 12000] [--out FILE.json]

The chapter's build can afford only short runs. This script trains PacGAN2 (Lin et al.
2018) on the 8-Gaussian ring and the 25-Gaussian grid with the recipe of Chapter 16,
section 16.5: ``gan.fit_and_sample`` with networks of three hidden layers of 128 units,
a two-time-scale Adam (discriminator rate 4x the
generator's), batches of 256 pairs, the rate held for the first half of the steps and then
falling linearly to zero. Each trained generator is scored by VEEGAN's protocol
(``metrics.mode_coverage`` on 2,500 samples). It prints a table and writes the results per
seed, with the process CPU time of each run (``time.process_time``), to
``benchmarks/gan_modes.json``, which the chapter reads. Runs can be split over processes
(``--problems grid --seeds 2 --out part.json``) and the parts joined with
``--merge part1.json part2.json ...``. ``--variant NAME`` trains one of the ablation's
variants (``VARIANTS``: the recipe with one ingredient changed) instead; the chapter's
ablation table reads those runs from ``benchmarks/gan_ablation.json``.

Each trained generator is also scored with Jacobian-based truncation (Tanielian et al.
2020; ``gan.truncated_sample``) at each fraction kept in ``KEEPS``: the same seeded codes
(``1000 + seed``), ``ceil(2500 / keep)`` of them, the 2,500 with the smallest Jacobian norm
kept. Training once and scoring every ``keep`` gives the same numbers as
``gan.fit_and_sample(..., keep=keep)`` would, without training once per ``keep``. And it
is scored with discriminator rejection sampling (Azadi et al. 2019; ``score``): a fresh
one-sample discriminator trained against the frozen generator, then
``gan.rejection_sample`` (``--no-drs`` skips it). Chapter 16, section 16.6, reads these
scores from ``benchmarks/gan_modes.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from dlbook import data
from dlbook.devices import generator as seeded_generator
from dlbook.generative import gan, metrics

#: The recipe (keyword arguments of gan.fit_and_sample besides data, seed and steps).
RECIPE: dict[str, float | int] = {
    "pack": 2,
    "hidden": 128,
    "depth": 3,
    "batch_size": 256,
    "lr": 1e-3,
    "discriminator_lr": 4e-3,
    "hold": 0.5,
}


#: The ablation of Chapter 16, section 16.6: each variant changes the recipe as shown.
VARIANTS: dict[str, dict[str, object]] = {
    "PacGAN2 recipe": {},
    "+ EMA of G (0.999)": {"ema": 0.999},
    "+ Adam betas (0.5, 0.9)": {"betas": (0.5, 0.9)},
    "+ 2 D steps per G step": {"critic_steps": 2},
    "+ 8-D code": {"latent_dim": 8},
    "WGAN-GP (no packing)": {
        "pack": 1,
        "objective": "wgan-gp",
        "critic_steps": 5,
        "betas": (0.5, 0.9),
        "discriminator_lr": 1e-3,
    },
}


#: Fractions of drawn codes kept by the Jacobian-based truncation (1: plain samples).
KEEPS: tuple[float, ...] = (0.9, 0.8, 0.7)


def train(samples: torch.Tensor, *, seed: int, steps: int, **kwargs: object) -> gan.Generator:
    """The training half of ``gan.fit_and_sample``, returning the trained generator.

    The same initial weights (``torch.manual_seed(seed)`` for the generator, then the
    discriminator), draws (``seed``) and schedule (the rate falling to zero after ``hold``).
    """
    kwargs = dict(kwargs)
    latent_dim, hidden, depth = (
        kwargs.pop("latent_dim", 2),
        kwargs.pop("hidden"),
        kwargs.pop("depth"),
    )
    pack = kwargs.pop("pack")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = gan.Generator(samples.shape[1], latent_dim=latent_dim, hidden=hidden, depth=depth)  # type: ignore[arg-type]
        critic = gan.Discriminator(samples.shape[1], hidden=hidden, depth=depth, pack=pack)  # type: ignore[arg-type]
    gan.train_gan(
        net,
        critic,
        samples,
        steps=steps,
        lr_end=0.0,
        generator=seeded_generator(seed),
        **kwargs,  # type: ignore[arg-type]
    )
    return net


#: Steps of the density-ratio classifier of the discriminator rejection sampling.
DRS_STEPS = 6000


def score(
    net: gan.Generator,
    samples: torch.Tensor,
    centres: torch.Tensor,
    std: float,
    *,
    seed: int,
    drs: bool = True,
) -> dict[str, object]:
    """VEEGAN's scores of a trained generator: plain, truncated at each ``KEEPS``, and DRS.

    Plain samples: 2,500 codes drawn with seed ``1000 + seed`` (as ``gan.fit_and_sample``).
    Truncated: ``gan.truncated_sample`` from the same seed. DRS (Azadi et al. 2019): a fresh
    one-sample discriminator (three hidden layers of 128 units, initial weights and draws
    from seed ``10_000 + seed``) trained by ``gan.train_discriminator`` against the frozen
    generator for ``DRS_STEPS`` steps of 512 real and 512 generated samples (Adam, rate
    falling from 1e-3 to 0), then ``gan.rejection_sample`` from seed ``1000 + seed``; its
    CPU seconds (classifier and sampling) are reported separately.
    """
    n = metrics.VEEGAN_NUM_SAMPLES
    plain = metrics.mode_coverage(
        net.sample(n, generator=seeded_generator(1000 + seed)).double(), centres, std
    )
    out: dict[str, object] = {
        "modes": plain.modes,
        "num_modes": plain.num_modes,
        "high_quality": plain.high_quality,
    }
    truncated = {}
    for keep in KEEPS:
        cut = gan.truncated_sample(net, n, keep=keep, generator=seeded_generator(1000 + seed))
        kept = metrics.mode_coverage(cut.double(), centres, std)
        truncated[str(keep)] = {"modes": kept.modes, "high_quality": kept.high_quality}
    out["truncated"] = truncated
    if drs:
        start = time.process_time()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(10_000 + seed)
            critic = gan.Discriminator(samples.shape[1], hidden=128, depth=3)
        gan.train_discriminator(
            critic,
            net,
            samples,
            steps=DRS_STEPS,
            batch_size=512,
            lr=1e-3,
            generator=seeded_generator(10_000 + seed),
        )
        drawn = gan.rejection_sample(net, critic, n, generator=seeded_generator(1000 + seed))
        cpu = time.process_time() - start
        kept = metrics.mode_coverage(drawn.double(), centres, std)
        out["rejected"] = {
            "modes": kept.modes,
            "high_quality": kept.high_quality,
            "steps": DRS_STEPS,
            "cpu_seconds": round(cpu, 1),
        }
    return out


def problems() -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """The two data sets of section 16.5: samples, true modes and their std."""
    ring, _ = data.gaussian_ring(20_000, seed=0)
    grid, _ = data.gaussian_grid(20_000, seed=0)
    return {
        "ring": (ring.float(), metrics.ring_centres(), 0.02),
        "grid": (grid.float(), metrics.grid_centres(), 0.05),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=12_000)
    parser.add_argument("--problems", nargs="+", default=["ring", "grid"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("gan_modes.json"))
    parser.add_argument("--merge", type=Path, nargs="+", help="join these result files")
    parser.add_argument("--no-drs", dest="drs", action="store_false", help="skip DRS")
    parser.add_argument(
        "--variant", default="PacGAN2 recipe", choices=list(VARIANTS), help="see VARIANTS"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = []
    if args.merge:
        parts = [json.loads(path.read_text()) for path in args.merge]
        runs = [run for part in parts for run in part["runs"]]
        args.problems = [p for p in ("ring", "grid") if any(r["problem"] == p for r in runs)]
        args.steps, args.threads = parts[0]["steps"], parts[0]["threads"]
    for name, (samples, centres, std) in problems().items():
        if name not in args.problems or args.merge:
            continue
        for seed in args.seeds:
            start = time.process_time()
            kwargs = {**RECIPE, **VARIANTS[args.variant]}
            net = train(samples, seed=seed, steps=args.steps, **kwargs)
            cpu = time.process_time() - start
            run = {"problem": name, "variant": args.variant, "seed": seed}
            run.update(score(net, samples, centres, std, seed=seed, drs=args.drs))
            run["cpu_seconds"] = round(cpu, 1)
            runs.append(run)
            print(f"{name} seed {seed}: {json.dumps(run)}", flush=True)
    print(f"\n{'problem':8} {'modes':>6} {'high quality':>13}  seeds")
    for name in args.problems:
        mine = [r for r in runs if r["problem"] == name]
        modes = sum(float(r["modes"]) for r in mine) / len(mine)
        quality = sum(float(r["high_quality"]) for r in mine) / len(mine)
        print(f"{name:8} {modes:6.2f} {quality:13.1%}  {len(mine)}")
    result = {
        "recipe": RECIPE,
        "variants": VARIANTS,
        "keeps": KEEPS,
        "drs_steps": DRS_STEPS,
        "steps": args.steps,
        "threads": args.threads,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "runs": runs,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
