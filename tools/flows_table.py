#!/usr/bin/env python3
"""Local Flow Matching against one global flow matching model at equal training compute, with the
`strata` command, and writes docs/flows-DATA.md (the tables docs/flows.md discusses).

    python3 tools/flows_table.py [--strata build/strata] [--runs runs/flows] [--parts 2d,latent]
                                 [--seeds 0,1,2] [--threads 1] [--quick]

Equal compute, as the LFM paper compares (Xu, Cheng & Xie 2024; shared/papers/local_flow_matching.md):
the same total parameter count (FM: one velocity MLP of width 256 x 3; LFM: 9 blocks, 8 OU blocks
of the notes' 2-D schedule and the free block, each an MLP whose width makes the nine together as
large as FM's one) and the same number of optimiser steps (FM: E epochs; LFM: E / 9 epochs per
block), batch size and learning rate equal.
  2d:     toy:checkerboard and toy:8gaussians (20,000 training points), E = 36, batch 256, lr 1e-3.
  latent: the two-step model on Fashion-MNIST: the 16-D posterior means of a conv VAE
          (--autoencoder, default runs/autoencoder-table/vae from tools/autoencoder_table.py),
          E = 18, batch 128, lr 1e-3.
Every run is evaluated with `strata eval --nll --n N` (held-out NLL by the exact divergence and
dopri5 at rtol = atol = 1e-5, sliced W2 over 1,000 directions and MMD^2 of N samples against N
held-out examples, function evaluations of sampling) and pictured with `strata sample`; the latent
runs' decoded samples also with `strata eval --sample-quality` (Frechet distance, precision/recall
in the features of a Fashion-MNIST classifier trained here, runs/flows/classifier: not Inception FID),
beside the autoencoder's own prior samples.
A finished run (its likelihood.json present) is not trained again. --quick is a plumbing check
(tiny budgets): its figures mean nothing. Needs only the standard library.
"""
import argparse
import os
import shutil
import sys

from strata_runs import command_block, mean_std, read_json, run

BLOCKS = 9  # the notes' 8 OU steps and the free block


def mlp_parameters(dim, width, layers=3):
    """Parameters of the velocity MLP [x, t] -> width x layers -> dim (models/flows/velocity_mlp.h)."""
    sizes = [dim + 1] + [width] * layers + [dim]
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def block_width(dim, total):
    """The width w whose BLOCKS MLPs together come closest to `total` parameters."""
    return min(range(8, 257), key=lambda w: abs(BLOCKS * mlp_parameters(dim, w) - total))


def experiments(args):
    """(part, data, dim, epochs, batch, extra flags) of every comparison."""
    out = []
    if "2d" in args.parts:
        for data in ("toy:checkerboard", "toy:8gaussians"):
            out.append(("2d", data, 2, args.epochs_2d, 256, ["--data", data]))
    if "latent" in args.parts:
        out.append(("latent", "fashion-mnist latents", 16, args.epochs_latent, 128, ["--latent-of", args.autoencoder]))
    return out


def one_run(args, part, data, dim, epochs, batch, flags, model, seed):
    slug = data.replace("toy:", "").replace(" ", "-")
    run_dir = os.path.join(args.runs, f"{slug}-{model}-seed{seed}")
    fm_params = mlp_parameters(dim, 256)
    if model == "fm":
        net = ["--velocity-hidden", "256,256,256", "--epochs", str(epochs)]
        params = fm_params
    else:
        w = block_width(dim, fm_params)
        per_block = max(1, epochs // BLOCKS)
        net = ["--velocity-hidden", f"{w},{w},{w}", "--blocks", str(BLOCKS), "--block-epochs", str(per_block),
               "--epochs", str(per_block * BLOCKS)]
        params = BLOCKS * mlp_parameters(dim, w)
    train_cmd = [args.strata, "train", "--model", model] + flags + net + [
        "--batch-size", str(batch), "--lr", "1e-3", "--seed", str(seed), "--threads", str(args.threads),
        "--log-every", "1000", "--pictures-every", "0", "--out", run_dir]
    eval_cmd = [args.strata, "eval", "--run", run_dir, "--nll", "--n", str(args.eval_n), "--seed", str(seed)]
    sample_cmd = [args.strata, "sample", "--run", run_dir, "--n", "2000" if part == "2d" else "64", "--seed", str(seed)]
    figures = os.path.join(run_dir, "likelihood.json")
    quality_cmd = None
    if part == "latent":
        quality_cmd = quality_command(args, run_dir, seed)
    if not os.path.exists(figures):
        if os.path.exists(run_dir):
            raise SystemExit(f"{run_dir} holds an unfinished run: remove it and start again")
        os.makedirs(args.runs, exist_ok=True)
        log = os.path.join(args.runs, os.path.basename(run_dir) + ".log")
        wall = run(train_cmd, log)
        with open(os.path.join(run_dir, "train_wall_s.txt"), "w") as f:
            f.write(f"{wall:.1f}\n")
        run(sample_cmd, log)
        run(eval_cmd, log)  # its likelihood.json marks the run trained and evaluated
    if quality_cmd and not os.path.exists(os.path.join(run_dir, "sample_quality.json")):
        run(quality_cmd, os.path.join(args.runs, os.path.basename(run_dir) + ".log"))
    with open(os.path.join(run_dir, "train_wall_s.txt")) as f:
        wall = float(f.read())
    result = {"dir": run_dir, "cmds": [train_cmd, sample_cmd] + ([quality_cmd] if quality_cmd else []) + [eval_cmd],
              "wall_s": wall, "params": params, "figures": read_json(figures)}
    if quality_cmd:
        result["figures"].update(read_json(os.path.join(run_dir, "sample_quality.json")))
    return result


def classifier_run(args):
    """The feature classifier of --sample-quality: 1 epoch, lr 3e-3 (88% test accuracy, README)."""
    run_dir = os.path.join(args.runs, "classifier")
    cmd = [args.strata, "train", "--model", "classifier", "--data", "fashion-mnist", "--epochs", "1", "--lr", "3e-3",
           "--seed", "0", "--threads", str(args.threads), "--log-every", "200", "--out", run_dir]
    if not os.path.exists(os.path.join(run_dir, "checkpoints", "best.safetensors")):
        if os.path.exists(run_dir):
            raise SystemExit(f"{run_dir} holds an unfinished run: remove it and start again")
        os.makedirs(args.runs, exist_ok=True)
        run(cmd, os.path.join(args.runs, "classifier.log"))
    return run_dir, cmd


def quality_command(args, run_dir, seed):
    return [args.strata, "eval", "--run", run_dir, "--sample-quality", "--classifier", args.classifier,
            "--n", str(args.quality_n), "--seed", str(seed)]


def autoencoder_quality(args):
    """The autoencoder's own prior samples, scored the same way: what the latent flow is compared with."""
    path = os.path.join(args.autoencoder, "sample_quality.json")
    cmd = quality_command(args, args.autoencoder, 0)
    fresh = os.path.exists(path) and read_json(path)["n"] == args.quality_n and \
        read_json(path)["classifier_run"] == args.classifier
    if not fresh:
        os.makedirs(args.runs, exist_ok=True)
        run(cmd, os.path.join(args.runs, "autoencoder-quality.log"))
    return cmd, read_json(path)


def cell(runs, key, digits):
    m, s = mean_std([r["figures"][key] for r in runs])
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def document(args, results, doc_dir):
    lines = ["# Local Flow Matching vs flow matching at equal training compute: the measured tables", "",
             "Generated by `python3 tools/flows_table.py " + " ".join(sys.argv[1:]) + "`; the exact command lines",
             "are listed at the end. " + ("**--quick: a plumbing check, the figures mean nothing.**" if args.quick else ""),
             "", f"Seeds {args.seeds}; mean ± standard deviation over seeds. NLL in nats per example on the first",
             f"{args.eval_n:,} held-out examples (exact divergence, dopri5 rtol = atol = 1e-5); sliced W2 and MMD^2 of",
             f"{args.eval_n:,} samples against those examples; NFE = velocity evaluations of one sampling solve",
             "(summed over LFM's blocks); training time per seed, contended (a shared 2-core machine), including the",
             "per-epoch held-out loss and, for LFM, pushing the training set through the trained blocks.", ""]
    for (part, data, dim, epochs, batch, _), by_model in results.items():
        fm = by_model["fm"][0]
        lines += [f"## {data} ({dim}-D)", "",
                  f"FM: {fm['params']:,} parameters, {epochs} epochs; LFM: {by_model['lfm'][0]['params']:,} parameters "
                  f"in {BLOCKS} blocks, {max(1, epochs // BLOCKS)} epochs each; batch {batch}.", "",
                  "| model | NLL (nats) | sliced W2 | MMD^2 | NFE sampling | NFE log-likelihood | train time |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for model, runs in by_model.items():
            minutes = sum(r["wall_s"] for r in runs) / len(runs) / 60
            lines.append(f"| {model} | {cell(runs, 'nll', 3)} | {cell(runs, 'sliced_w2', 4)} | {cell(runs, 'mmd2', 4)} | "
                         f"{cell(runs, 'nfe_sample', 0)} | {cell(runs, 'nfe_log_prob', 0)} | {minutes:.1f} min |")
        if part == "latent":
            q = args.autoencoder_quality
            lines += ["", "Decoded samples against the autoencoder's held-out images, sliced W2 in pixel space: " +
                      ", ".join(f"{m} {cell(r, 'decoded_sliced_w2', 4)}" for m, r in by_model.items()) + ".", "",
                      f"Decoded samples in the classifier's features ({args.quality_n:,} samples against as many "
                      f"test images; classifier test accuracy {q['classifier_test_accuracy']:.3f}; "
                      "not Inception FID):", "",
                      "| samples | Frechet distance | precision | recall | density | coverage |",
                      "| --- | --- | --- | --- | --- | --- |"]
            for model, runs in by_model.items():
                lines.append(f"| {model} on the codes, decoded | {cell(runs, 'frechet_distance', 2)} | "
                             f"{cell(runs, 'precision', 3)} | {cell(runs, 'recall', 3)} | {cell(runs, 'density', 3)} | "
                             f"{cell(runs, 'coverage', 3)} |")
            lines.append(f"| the VAE's own prior samples | {q['frechet_distance']:.2f} | {q['precision']:.3f} | "
                         f"{q['recall']:.3f} | {q['density']:.3f} | {q['coverage']:.3f} |")
            ref = q["reference"]
            lines.append(f"| training images (reference) | {ref['frechet_distance']:.2f} | {ref['precision']:.3f} | "
                         f"{ref['recall']:.3f} | {ref['density']:.3f} | {ref['coverage']:.3f} |")
        lines.append("")
        os.makedirs(os.path.join(doc_dir, "flows"), exist_ok=True)
        for model, runs in by_model.items():
            target = os.path.join(doc_dir, "flows", f"{os.path.basename(runs[0]['dir']).rsplit('-seed', 1)[0]}.png")
            shutil.copyfile(os.path.join(runs[0]["dir"], "samples", "sample.png"), target)
            lines += [f"{model}, seed {args.seeds.split(',')[0]}: ![{model}](flows/{os.path.basename(target)})", ""]
    cmds = [args.classifier_cmd, args.autoencoder_quality_cmd] if "latent" in args.parts else []
    cmds += [c for by_model in results.values() for runs in by_model.values() for r in runs for c in r["cmds"]]
    lines += command_block(cmds)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strata", default="build/strata")
    parser.add_argument("--runs", default="runs/flows")
    parser.add_argument("--parts", default="2d,latent")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--autoencoder", default="runs/autoencoder-table/vae")
    parser.add_argument("--epochs-2d", type=int, default=36)
    parser.add_argument("--epochs-latent", type=int, default=18)
    parser.add_argument("--eval-n", type=int, default=2000)
    parser.add_argument("--quality-n", type=int, default=5000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.epochs_2d, args.epochs_latent, args.eval_n, args.seeds, args.quality_n = 9, 9, 200, "0", 500
        args.runs += "-quick"
    doc_dir = args.runs if args.quick else "docs"
    if "latent" in args.parts:
        args.classifier, args.classifier_cmd = classifier_run(args)
        args.autoencoder_quality_cmd, args.autoencoder_quality = autoencoder_quality(args)
    results = {}
    for exp in experiments(args):
        results[tuple(exp[:5]) + (tuple(exp[5]),)] = {
            m: [one_run(args, *exp, m, int(s)) for s in args.seeds.split(",")] for m in ("fm", "lfm")}
    out = os.path.join(doc_dir, "flows-DATA.md")
    with open(out, "w") as f:
        f.write(document(args, results, doc_dir))
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
