"""Sample quality of the `mnist` preset on each backend against the TensorFlow tutorial's recipe.

Issue 5 (Quality): at equal epochs, our `mnist` preset should reach a lower FID
than https://www.tensorflow.org/tutorials/generative/dcgan on every backend,
with class coverage >= 0.98 (no mode collapse).

1. A small MNIST classifier (dcgan_keras.metrics.train_mnist_classifier) is
   trained on the MNIST train split, saved to bench/cache/ and reused; its
   test accuracy is reported, and so is the FID of N real train images against
   the test images (what a perfect generator would score).
2. Per backend and seed, a subprocess with KERAS_BACKEND set trains the preset
   with dcgan_keras.training.train for --epochs epochs (on the first --limit
   images if given), generates --num_samples images, and scores them: FID and
   KID on the classifier's 128-d "features" layer against the 10k test images,
   and class coverage (entropy of the predicted class histogram / log 10).
3. The tutorial's recipe (bench/quality_tf_tutorial.py), TensorFlow only, the
   same epochs, seeds and scoring.
4. A table of median and min-max over seeds per backend and recipe; the
   generated part of bench/QUALITY.md is rewritten (text outside its markers
   is kept).
5. Issue 26, the conditional benchmark (--recipes=conditional,kerasio_cgan):
   `conditional` trains the `mnist_conditional` preset as step 2 does, and
   `kerasio_cgan` keras.io's Conditional GAN (bench/quality_kerasio_cgan.py,
   any backend); both ask for the classes in turn and are scored as above
   plus the label accuracy (how often the classifier reads the asked class).
   Their own generated section, "(e5_lall_n10000, conditional)", judges
   label accuracy and coverage >= 0.98 and median FID against the `mnist`
   preset's on the same backend and judge. The scored samples are kept in
   bench/cache/quality/samples/ (quality_worker.py rescore: another judge).

Each job's result is a JSON file in bench/results/quality/ (committed: a new
checkout has no bench/cache/) and is skipped on the next call (--rerun to redo
it), so runs can be split up over sessions and resumed: the report covers every
result at the asked --epochs/--limit/--num_samples that the current classifier
scored. The classifier is retrained where bench/cache/ lacks it; a fingerprint of
its weights goes into every result, and results scored by another classifier are
left out of the report by name, since FIDs on different judges do not compare.

    python bench/quality.py --backends=tensorflow --seeds=0,1,2 --epochs=1
    python bench/quality.py --backends=jax,torch --recipes=keras --seeds=0 --epochs=1
    python bench/quality.py --report_only --epochs=1
    python bench/quality.py --backends=tensorflow --recipes=keras --tag=lr1e-4 \\
        --overrides='{"lr": 1e-4}'            # a candidate change of the preset
    python bench/quality.py --backends=jax --recipes=conditional,kerasio_cgan --seeds=0,1,2 --epochs=5
    python bench/quality.py --backends=jax --recipes=conditional --tag=concat \
        --overrides='{"conditioning": "concat"}' --seeds=0 --epochs=5
"""

import argparse
import datetime
import glob
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORKER = os.path.join(BENCH, "quality_worker.py")
if REPO not in sys.path:  # dcgan_keras.config, for stale_config
    sys.path.insert(0, REPO)
BACKENDS = ("tensorflow", "jax", "torch")
RECIPES = ("keras", "tf_tutorial", "conditional", "kerasio_cgan")
# The recipes of the conditional benchmark (issue 26), reported in their own section.
CONDITIONAL_RECIPES = ("conditional", "kerasio_cgan")
# The recipes that train a preset through dcgan_keras.training.train (--overrides/--tag apply),
# and the preset each trains (quality_worker.py reads it from here).
PRESET_RECIPES = ("keras", "conditional")
PRESET_OF = {"keras": "mnist", "conditional": "mnist_conditional"}
COVERAGE_GOAL = 0.98
LABEL_ACCURACY_GOAL = 0.98
BEGIN = "<!-- quality.py: generated, begin -->"
END = "<!-- quality.py: generated, end -->"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist_dir", default=os.path.normpath(os.path.join(REPO, "..", "shared", "data", "mnist")),
                   help="MNIST IDX files (default: ../shared/data/mnist from the repo root)")
    p.add_argument("--backends", default="tensorflow,jax,torch")
    p.add_argument("--recipes", default=None,
                   help="keras (the mnist preset), tf_tutorial (TensorFlow backend only), conditional "
                        "(the mnist_conditional preset), kerasio_cgan (keras.io's Conditional GAN); default "
                        "keras,tf_tutorial, or with --report_only every section")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--limit", type=int, default=None, help="train on the first N train images only")
    p.add_argument("--num_samples", type=int, default=10000)
    p.add_argument("--classifier_epochs", type=int, default=3)
    p.add_argument("--overrides", default=None,
                   help="JSON dict of config overrides for the preset recipes, keras and conditional (needs --tag)")
    p.add_argument("--tag", default=None, help="names a variant of the preset recipes, e.g. lr1e-4")
    p.add_argument("--cache_dir", default=os.path.join(BENCH, "cache"),
                   help="classifier weights, logs and run directories (not committed)")
    p.add_argument("--results_dir", default=os.path.join(BENCH, "results", "quality"),
                   help="one JSON per finished job (committed)")
    p.add_argument("--out_md", default=os.path.join(BENCH, "QUALITY.md"))
    p.add_argument("--no_md", action="store_true", help="print the table only")
    p.add_argument("--rerun", action="store_true", help="redo jobs whose result is cached")
    p.add_argument("--report_only", action="store_true", help="run nothing, report cached results")
    # Six hours: on a 2-core CPU the upsample generator's 5 epochs took over an hour beside a
    # test suite, and the old one-hour limit killed them (2026-12-08); wgan_gp's take longer still.
    p.add_argument("--job_timeout", type=int, default=6 * 3600,
                   help="seconds per job; a keras job killed at it resumes from its last epoch when run again")
    args = p.parse_args(argv)
    args.backends = [b for b in args.backends.split(",") if b]
    if args.recipes is None:
        args.recipes = ",".join(RECIPES) if args.report_only else "keras,tf_tutorial"
    args.recipes = [r for r in args.recipes.split(",") if r]
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    for b in args.backends:
        if b not in BACKENDS:
            p.error(f"--backends: unknown {b!r}; use {', '.join(BACKENDS)}")
    for r in args.recipes:
        if r not in RECIPES:
            p.error(f"--recipes: unknown {r!r}; use {', '.join(RECIPES)}")
    if bool(args.overrides) != bool(args.tag):
        p.error("--overrides and --tag go together (the tag names the variant in the table)")
    if args.overrides:
        json.loads(args.overrides)
    return args


# ------------------------------------------------------------------- paths


class Paths:
    def __init__(self, cache_dir, results_dir):
        self.root = os.path.join(cache_dir, "quality")
        self.results = results_dir
        self.logs = os.path.join(self.root, "logs")
        self.runs = os.path.join(self.root, "runs")
        self.classifier = os.path.join(cache_dir, "mnist_classifier.weights.h5")
        self.classifier_json = os.path.join(self.root, "classifier.json")
        for d in (self.results, self.logs, self.runs):
            os.makedirs(d, exist_ok=True)


def settings_key(epochs, limit, num_samples):
    return f"e{epochs}_l{limit or 'all'}_n{num_samples}"


def recipe_label(recipe, args):
    """The recipe's name in results and tables: a tagged preset variant is `<recipe>+<tag>`."""
    return f"{recipe}+{args.tag}" if (recipe in PRESET_RECIPES and args.tag) else recipe


def job_name(backend, recipe, seed, args):
    label = recipe_label(recipe, args)
    return f"{backend}_{label}_{settings_key(args.epochs, args.limit, args.num_samples)}_s{seed}"


def stale_config(result):
    """{key: (then, now)} for each recorded config value of a preset recipe's result that its preset,
    with the result's own overrides, no longer gives; {} for a current result or another recipe.

    A result is filed under its recipe's name. After a preset changes (a new default loss, say), a
    result made before would pass for the new recipe, cached or in the report; this finds it.

    Example:
        >>> stale_config({"job": "conditional", "overrides": None, "config": {"model": "conditional", "conditioning": "concat"}})
        {'conditioning': ('concat', 'projection')}
    """
    if result.get("job") not in PRESET_RECIPES or "config" not in result:
        return {}
    from dcgan_keras.config import recorded_values, resolve_config  # no Keras: config.py imports none

    now = json.loads(json.dumps(  # as recorded: tuples become lists
        resolve_config(PRESET_OF[result["job"]], overrides=result.get("overrides") or {}).to_dict()))
    read = recorded_values({"model": now["model"], **result["config"]})  # keys its model ignores: left out
    return {key: (value, now.get(key)) for key, value in result["config"].items()
            if key in read and now.get(key) != value}


def describe_stale(name, changed):
    said = ", ".join(f"{key}={then!r} where the preset now gives {now!r}" for key, (then, now) in changed.items())
    return f"{name} was made with {said}"


# -------------------------------------------------------------------- jobs


def run_worker(job, backend, out, log, extra, timeout):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, WORKER, job, "--out", out] + extra
    start = time.time()
    with open(log, "w") as f:
        f.write(" ".join(cmd) + "\n\n")
        f.flush()
        try:
            proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=REPO, timeout=timeout)
            ok = proc.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
            f.write(f"\nquality.py: killed after {timeout}s (--job_timeout); run it again to go on from its last epoch\n")
    return ok, time.time() - start


def ensure_classifier(args, paths, run=True):
    """The classifier's summary; trains it (or adds the floor for this N) unless cached."""
    cached = None
    if os.path.isfile(paths.classifier_json) and os.path.isfile(paths.classifier):
        with open(paths.classifier_json) as f:
            cached = json.load(f)
        current = str(args.num_samples) in cached.get("fid_train_vs_test", {}) and "weights_sha256" in cached
        if not run or (current and not args.rerun):
            return cached
    if not run:
        return None
    log = os.path.join(paths.logs, "classifier.log")
    say(f"classifier: {'loading' if os.path.isfile(paths.classifier) else 'training'} "
        f"{paths.classifier} (log {log})")
    ok, seconds = run_worker(
        "classifier", "tensorflow", paths.classifier_json, log,
        ["--mnist_dir", args.mnist_dir, "--classifier", paths.classifier,
         "--classifier_epochs", str(args.classifier_epochs), "--num_samples", str(args.num_samples)],
        args.job_timeout)
    if not ok:
        raise SystemExit(f"The classifier job failed; see {log}")
    with open(paths.classifier_json) as f:
        result = json.load(f)
    if cached:  # keep the floors computed for other sample counts
        result["fid_train_vs_test"] = {**cached.get("fid_train_vs_test", {}), **result["fid_train_vs_test"]}
        with open(paths.classifier_json, "w") as f:
            json.dump(result, f, indent=1)
    say(f"classifier: test accuracy {result['test_accuracy']:.4f} ({seconds:.0f}s)")
    return result


def run_jobs(args, paths, classifier):
    jobs = [(b, r, s) for b in args.backends for r in args.recipes for s in args.seeds
            if not (r == "tf_tutorial" and b != "tensorflow")]
    skipped = [(b, r) for b in args.backends for r in args.recipes if r == "tf_tutorial" and b != "tensorflow"]
    if skipped:
        say(f"tf_tutorial is TensorFlow code: skipped on {', '.join(b for b, _ in skipped)}")
    for i, (backend, recipe, seed) in enumerate(jobs):
        name = job_name(backend, recipe, seed, args)
        out = os.path.join(paths.results, name + ".json")
        if os.path.isfile(out) and not args.rerun:
            with open(out) as f:
                changed = stale_config(json.load(f))
            if changed:
                say(f"[{i + 1}/{len(jobs)}] {describe_stale(name, changed)}: not run, and left as it is. File it "
                    f"under a --tag whose --overrides give its config (bench/QUALITY.md renames them so), or "
                    f"pass --rerun to replace it.")
            else:
                say(f"[{i + 1}/{len(jobs)}] {name}: cached")
            continue
        log = os.path.join(paths.logs, name + ".log")
        extra = ["--mnist_dir", args.mnist_dir, "--classifier", paths.classifier,
                 "--seed", str(seed), "--epochs", str(args.epochs), "--num_samples", str(args.num_samples)]
        if args.limit:
            extra += ["--limit", str(args.limit)]
        if recipe in CONDITIONAL_RECIPES:
            extra += ["--samples_npz", os.path.join(paths.root, "samples", name + ".npz")]
        if recipe in PRESET_RECIPES or recipe == "kerasio_cgan":
            extra += ["--workdir", os.path.join(paths.runs, name)]
            if args.overrides:
                extra += ["--overrides", args.overrides]
        say(f"[{i + 1}/{len(jobs)}] {name}: running (log {log})")
        ok, seconds = run_worker(recipe, backend, out, log, extra, args.job_timeout)
        if not ok:
            say(f"[{i + 1}/{len(jobs)}] {name}: FAILED after {seconds:.0f}s, see {log}")
            continue
        with open(out) as f:
            r = json.load(f)
        r.update(name=name, recipe=recipe_label(recipe, args),
                 seed=seed, epochs=args.epochs, limit=args.limit, num_samples=args.num_samples,
                 overrides=json.loads(args.overrides) if (recipe in PRESET_RECIPES and args.overrides) else None,
                 job_seconds=seconds, finished=now(), judge=classifier.get("weights_sha256"))
        with open(out, "w") as f:
            json.dump(r, f, indent=1)
        accuracy = f"  label accuracy {r['label_accuracy']:.4f}" if "label_accuracy" in r else ""
        say(f"[{i + 1}/{len(jobs)}] {name}: FID {r['fid']:.2f}  coverage {r['coverage']:.3f}{accuracy}  "
            f"({seconds:.0f}s, train {r['train_seconds']:.0f}s)")


# ------------------------------------------------------------------ report


def load_results(paths, args, classifier):
    """The results at these settings that this classifier scored (others are named and left out)."""
    key = settings_key(args.epochs, args.limit, args.num_samples)
    judge = (classifier or {}).get("weights_sha256")
    results, other = [], []
    for path in sorted(glob.glob(os.path.join(paths.results, f"*_{key}_s*.json"))):
        with open(path) as f:
            r = json.load(f)
        changed = stale_config(r)
        if changed:
            say(f"left out: {describe_stale(r['name'], changed)}")
            continue
        (results if judge is None or r.get("judge") == judge else other).append(r)
    if other:
        say(f"left out, scored by another classifier than {judge[:12]}: "
            + ", ".join(f"{r['name']} ({(r.get('judge') or 'unknown')[:12]})" for r in other))
    return results


def _recipe_order(recipe):
    if recipe.split("+")[0] in CONDITIONAL_RECIPES:
        return (3 if recipe == "conditional" else 5 if recipe == "kerasio_cgan" else 4, recipe)
    return (0 if recipe == "keras" else 2 if recipe == "tf_tutorial" else 1, recipe)


def is_conditional(recipe):
    """Whether a result's recipe (maybe a tagged variant) belongs to the conditional benchmark."""
    return recipe.split("+")[0] in CONDITIONAL_RECIPES


def _short_device(result):
    # Results from before the worker recorded its device all ran on this CPU.
    return result.get("device", "CPU").split(" (")[0].replace("1 x ", "")


def summarize(results):
    """Rows (backend, recipe) with medians and min-max over seeds."""
    groups = {}
    for r in results:
        groups.setdefault((r["backend"], r["recipe"]), []).append(r)
    rows = []
    for (backend, recipe), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        fids = [r["fid"] for r in rs]
        covs = [r["coverage"] + 0.0 for r in rs]  # + 0.0: no "-0.000" for one class
        kids = [r["kid"] for r in rs]
        # Steady-state epoch time: the last epoch (the first includes compilation).
        epoch_s = [r["epoch_seconds"][-1] for r in rs]
        ips = [r["images_per_epoch"] / s for r, s in zip(rs, epoch_s)]
        batch = rs[0]["config"]["batch_size"]
        steps = rs[0]["epochs"] * -(-rs[0]["images_per_epoch"] // batch)  # the tutorial keeps a short batch
        accs = [r["label_accuracy"] for r in rs if "label_accuracy" in r]
        if len(accs) == len(rs):
            extra = dict(accs=accs, label_accuracy=statistics.median(accs), label_accuracy_min=min(accs))
        else:
            extra = {}
        rows.append(dict(
            **extra,
            backend=backend, recipe=recipe, device=_short_device(rs[0]), seeds=[r["seed"] for r in rs], fids=fids, steps=steps, batch=batch,
            fid=statistics.median(fids), fid_min=min(fids), fid_max=max(fids),
            kid=statistics.median(kids), coverage=statistics.median(covs), coverage_min=min(covs),
            epoch_seconds=statistics.median(epoch_s), images_per_sec=statistics.median(ips),
        ))
    rows.sort(key=lambda row: (BACKENDS.index(row["backend"]), _recipe_order(row["recipe"])))
    return rows


# A variant is called better or not against at least this many seeds of the preset.
PRESET_SEEDS_TO_JUDGE = 3


def verdicts(rows):
    """Per row: the preset against the tutorial (issue 5), a tagged variant against its backend's preset (issue 29).

    The tutorial is TensorFlow code, so every backend's preset is held to its median. A variant
    (`keras+least_squares`, ...) changes one thing in the preset, so its fair reference is the plain
    preset on the same backend, not the tutorial.
    """
    tutorial = next((r for r in rows if r["recipe"] == "tf_tutorial"), None)
    out = []
    for row in rows:
        if row["recipe"] == "tf_tutorial":
            continue
        covered = row["coverage_min"] >= COVERAGE_GOAL
        coverage = f"coverage min {row['coverage_min']:.3f} {'>=' if covered else '<'} {COVERAGE_GOAL}"
        if "+" in row["recipe"]:
            default = next((r for r in rows if r["backend"] == row["backend"] and r["recipe"] == "keras"), None)
            if default is None:
                out.append((row, None, f"no plain `keras` result on {row['backend']} to compare with"))
                continue
            beats = row["fid"] < default["fid"]
            # "Beats" means every seed below every seed of the preset's; with fewer than three of
            # those, the preset's spread is unknown (non_saturating's seeds spread by 6 FID).
            clear = row["fid_max"] < default["fid_min"]
            judged = len(default["seeds"]) >= PRESET_SEEDS_TO_JUDGE
            if not judged:
                said = "lower" if beats else "not lower"
            else:
                said = "beats it" if clear else "below its median, inside its spread" if beats else "does NOT beat it"
            text = (f"median FID {row['fid']:.1f} vs the preset's {default['fid']:.1f} "
                    f"({default['fid_min']:.1f}-{default['fid_max']:.1f}, {len(default['seeds'])} seed(s)): "
                    f"{said}; " + coverage
                    + ("" if judged else f"; too few preset seeds to call (fewer than {PRESET_SEEDS_TO_JUDGE})"))
            out.append((row, clear and covered if judged else None, text))
            continue
        if tutorial is None:
            out.append((row, None, "no tf_tutorial result to compare with"))
            continue
        beats = row["fid"] < tutorial["fid"]
        all_seeds = len(row["seeds"]) > 1 and row["fid_max"] < tutorial["fid_min"]
        text = (f"median FID {row['fid']:.1f} vs tutorial {tutorial['fid']:.1f}: "
                f"{'beats' if beats else 'does NOT beat'} it"
                f"{' (every seed below every tutorial seed)' if all_seeds else ''}; " + coverage)
        out.append((row, beats and covered, text))
    return out


def verdict_mark(row, ok):
    """PASS/FAIL for a goal; a variant has no goal of its own, only a better or worse FID than the preset."""
    if ok is None:
        return "n/a"
    if "+" in row["recipe"] and not is_conditional(row["recipe"]):
        return "better" if ok else "not better"
    return "PASS" if ok else "FAIL"


def table(rows):
    head = ("| backend | device | recipe | steps x batch | seeds | FID median | FID min-max | FID per seed | KID median "
            "| coverage median (min) | s/epoch | img/s |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['device']} | {r['recipe']} | {r['steps']} x {r['batch']} | {len(r['seeds'])} | {r['fid']:.2f} | "
            f"{r['fid_min']:.2f}-{r['fid_max']:.2f} | {', '.join(f'{x:.1f}' for x in r['fids'])} | "
            f"{r['kid']:.3g} | {r['coverage']:.3f} ({r['coverage_min']:.3f}) | "
            f"{r['epoch_seconds']:.0f} | {r['images_per_sec']:.0f} |")
    return "\n".join(lines)


def paired_controls(results):
    """A table of the results that hold a raw-generator control, or ""."""
    rows = sorted((r for r in results if r.get("raw_generator")),
                  key=lambda r: (BACKENDS.index(r["backend"]), r["recipe"], r["seed"]))
    if not rows:
        return ""
    lines = ["| backend | recipe | seed | FID: average / raw | coverage: average / raw |", "|---|---|---|---|---|"]
    for r in rows:
        raw = r["raw_generator"]
        lines.append(f"| {r['backend']} | {r['recipe']} | {r['seed']} | {r['fid']:.1f} / {raw['fid']:.1f} | "
                     f"{r['coverage']:.3f} / {raw['coverage']:.3f} |")
    return "\n".join(lines)


def conditional_verdicts(rows, unconditional_rows):
    """Issue 26, point 5, per conditional row: label accuracy and coverage >= 0.98, FID vs the `mnist` preset."""
    out = []
    for row in rows:
        baseline = next((u for u in unconditional_rows
                         if u["backend"] == row["backend"] and u["recipe"] == "keras"), None)
        accurate = row["label_accuracy"] >= LABEL_ACCURACY_GOAL
        covered = row["coverage"] >= COVERAGE_GOAL
        text = (f"median label accuracy {row['label_accuracy']:.4f} {'>=' if accurate else '<'} {LABEL_ACCURACY_GOAL} "
                f"(min {row['label_accuracy_min']:.4f}); median coverage {row['coverage']:.3f} "
                f"{'>=' if covered else '<'} {COVERAGE_GOAL} (min {row['coverage_min']:.3f}); ")
        if baseline is None:
            text += "no `mnist` preset result on this backend, judge and settings to compare FID with"
            ok = None if accurate and covered else False
        else:
            no_worse = row["fid"] <= baseline["fid"]
            text += (f"median FID {row['fid']:.1f} {'<=' if no_worse else '>'} the `mnist` preset's "
                     f"{baseline['fid']:.1f} ({len(baseline['seeds'])} seed(s))")
            ok = accurate and covered and no_worse
        if len(row["seeds"]) < 3:
            text += f"; {len(row['seeds'])} seed(s) of the 3 asked"
        out.append((row, ok, text))
    return out


def conditional_table(rows):
    head = ("| backend | device | recipe | steps x batch | seeds | label accuracy median (min) | per seed "
            "| FID median | FID per seed | KID median | coverage median (min) | s/epoch | img/s |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['device']} | {r['recipe']} | {r['steps']} x {r['batch']} | {len(r['seeds'])} | "
            f"{r['label_accuracy']:.4f} ({r['label_accuracy_min']:.4f}) | {', '.join(f'{x:.4f}' for x in r['accs'])} | "
            f"{r['fid']:.2f} | {', '.join(f'{x:.1f}' for x in r['fids'])} | {r['kid']:.3g} | "
            f"{r['coverage']:.3f} ({r['coverage_min']:.3f}) | {r['epoch_seconds']:.0f} | {r['images_per_sec']:.0f} |")
    return "\n".join(lines)


def conditional_controls(results):
    """The conditional results with a raw-generator control, as a table, or ""."""
    rows = sorted((r for r in results if r.get("raw_generator")),
                  key=lambda r: (BACKENDS.index(r["backend"]), r["recipe"], r["seed"]))
    if not rows:
        return ""
    lines = ["| backend | recipe | seed | label accuracy: average / raw | FID: average / raw "
             "| coverage: average / raw |", "|---|---|---|---|---|---|"]
    for r in rows:
        raw = r["raw_generator"]
        lines.append(f"| {r['backend']} | {r['recipe']} | {r['seed']} | {r['label_accuracy']:.4f} / "
                     f"{raw['label_accuracy']:.4f} | {r['fid']:.1f} / {raw['fid']:.1f} | "
                     f"{r['coverage']:.3f} / {raw['coverage']:.3f} |")
    return "\n".join(lines)


def conditional_settings(args):
    return f"{settings_key(args.epochs, args.limit, args.num_samples)}, conditional"


def conditional_markdown(args, rows, results, unconditional_rows, classifier):
    train_images = f"the first {args.limit} of the 60000 train images" if args.limit else "all 60000 train images"
    floor = classifier.get("fid_train_vs_test", {}).get(str(args.num_samples))
    overrides = {r["recipe"]: r["overrides"] for r in results if r.get("overrides")}
    lines = [
        BEGIN,
        f"## Conditional results: {args.epochs} epoch(s), {train_images}, {args.num_samples} samples "
        f"({conditional_settings(args)})",
        "",
        f"- Date of this report: {now()}; results finished "
        f"{min(r['finished'] for r in results)} .. {max(r['finished'] for r in results)}.",
        f"- Machine of this report: {machine()}; load average now {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        "(shared: timings are indicative only).",
        f"- Versions: {versions()}.",
        f"- Judge: `dcgan_keras.metrics` MNIST classifier ({args.classifier_epochs} epochs on the train split), "
        f"test accuracy {classifier['test_accuracy']:.4f}, weights fingerprint {classifier['weights_sha256'][:12]}"
        + (f"; FID floor (N={args.num_samples} real train images vs test): {floor:.2f}." if floor is not None else "."),
        "- Label accuracy: the classes asked for in turn (0, 1, ..., 9, 0, ...: N/10 of each), the fraction of "
        "samples whose predicted class is the asked one. Coverage and FID as in the unconditional tables.",
        f"- Recipes: {', '.join(sorted({r['recipe'] for r in results}, key=_recipe_order))}."
        + (f" Overrides: {json.dumps(overrides)}." if overrides else ""),
        "",
        conditional_table(rows),
        "",
        "Goal (issue 26, point 5): median label accuracy >= 0.98, coverage >= 0.98, median FID no worse than the "
        "unconditional `mnist` preset's (same backend, judge and settings):",
        "",
    ]
    for row, ok, text in conditional_verdicts(rows, unconditional_rows):
        mark = "n/a" if ok is None else ("PASS" if ok else "FAIL")
        lines.append(f"- {row['backend']} / {row['recipe']}: **{mark}**: {text}")
    paired = conditional_controls(results)
    if paired:
        lines += ["", "The moving average of G (`ema`) against the same run's raw generator, same noise and labels:",
                  "", paired]
    lines += ["", "Last call: `python bench/quality.py " + " ".join(sys.argv[1:]) + "`; "
              "per-run logs in `bench/cache/quality/logs/`, scored samples in `bench/cache/quality/samples/`.", END]
    return "\n".join(lines)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores visible, {platform.system()} {platform.release()}"


def versions():
    out = [f"python {platform.python_version()}"]
    for pkg in ("keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "torch", "numpy", "scipy"):
        try:
            out.append(f"{pkg} {importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join(out)


def markdown(args, rows, results, classifier):
    s = settings_key(args.epochs, args.limit, args.num_samples)
    train_images = f"the first {args.limit} of the 60000 train images" if args.limit else "all 60000 train images"
    floor = classifier.get("fid_train_vs_test", {}).get(str(args.num_samples))
    recipes = sorted({r["recipe"] for r in results}, key=_recipe_order)
    overrides = {r["recipe"]: r["overrides"] for r in results if r.get("overrides")}
    lines = [
        BEGIN,
        f"## Results: {args.epochs} epoch(s), {train_images}, {args.num_samples} samples ({s})",
        "",
        f"- Date of this report: {now()}; results finished "
        f"{min(r['finished'] for r in results)} .. {max(r['finished'] for r in results)}.",
        f"- Machine of this report: {machine()}; load average now {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        "(shared: timings are indicative only).",
        f"- Versions: {versions()}.",
        f"- Data: MNIST IDX files in `{os.path.relpath(args.mnist_dir, REPO)}`; FID reference = the 10000 test images.",
        f"- Judge: `dcgan_keras.metrics` MNIST classifier ({args.classifier_epochs} epochs on the train split), "
        f"test accuracy {classifier['test_accuracy']:.4f}, weights fingerprint {classifier['weights_sha256'][:12]}; "
        "features = its 128-d `features` layer. "
        + (f"FID of {args.num_samples} real train images vs the test images (the floor): {floor:.2f}." if floor is not None else ""),
        f"- Recipes: {', '.join(recipes)}." + (f" Overrides: {json.dumps(overrides)}." if overrides else ""),
        "- Spread = min-max over seeds; s/epoch and img/s: the last epoch of each run, median over seeds "
        "(with one epoch, compilation included).",
        "",
        table(rows),
        "",
        "Goal (issue 5): the preset's median FID below the tutorial's, coverage >= 0.98 on every seed. "
        "A tagged variant (issue 29, `keras+<tag>`) is held to the plain preset on its own backend: "
        f"better when each of its seeds scores below each of the preset's, with {PRESET_SEEDS_TO_JUDGE} or more "
        "preset seeds (n/a with fewer):",
        "",
    ]
    for row, ok, text in verdicts(rows):
        mark = verdict_mark(row, ok)
        lines.append(f"- {row['backend']} / {row['recipe']}: **{mark}**: {text}")
    paired = paired_controls(results)
    if paired:
        lines += ["", "Runs that keep a moving average of G's weights (`ema`) against the same run's raw "
                  "generator, on the same noise (the average does not steer training, so the pair "
                  "differs only in which weights sample):", "", paired]
    lines += ["", "Last call: `python bench/quality.py " + " ".join(sys.argv[1:]) + "`; "
              "per-run logs in `bench/cache/quality/logs/`.", END]
    return "\n".join(lines)


def write_md(path, section, settings):
    """Replaces this settings' generated section (or appends one); keeps everything else."""
    text = open(path).read() if os.path.isfile(path) else "# Sample quality: bench/quality.py\n\n"
    marker = f"({settings})"
    start, replaced = 0, False
    while not replaced:
        b = text.find(BEGIN, start)
        e = text.find(END, b) if b >= 0 else -1
        if e < 0:
            break
        e += len(END)
        title = text[b:e].split("\n", 2)[1]
        if marker in title:
            text, replaced = text[:b] + section + text[e:], True
        start = e
    if not replaced:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)


# -------------------------------------------------------------------- main


T0 = time.time()


def now():
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def say(line):
    print(f"[{time.time() - T0:6.0f}s] {line}", flush=True)


def main(argv=None):
    args = parse_args(argv)
    paths = Paths(args.cache_dir, args.results_dir)
    if not os.path.isdir(args.mnist_dir):
        raise SystemExit(f"--mnist_dir {args.mnist_dir} does not exist.")
    classifier = ensure_classifier(args, paths, run=not args.report_only)
    if not args.report_only:
        run_jobs(args, paths, classifier)
    all_results = load_results(paths, args, classifier)
    if not all_results:
        raise SystemExit("No results for these settings yet.")
    results = [r for r in all_results if not is_conditional(r["recipe"])]
    conditional = [r for r in all_results if is_conditional(r["recipe"])]
    # The section of each benchmark asked for (both with --report_only) is printed and rewritten.
    asked = set(args.recipes)
    rows = summarize(results)
    print()
    print(f"MNIST classifier test accuracy: {classifier['test_accuracy']:.4f}" if classifier else "")
    if results and asked - set(CONDITIONAL_RECIPES):
        print(table(rows))
        for row, ok, text in verdicts(rows):
            print(f"{row['backend']} / {row['recipe']}: {verdict_mark(row, ok)}: {text}")
        paired = paired_controls(results)
        if paired:
            print("\n" + paired)
        if not args.no_md and classifier:
            write_md(args.out_md, markdown(args, rows, results, classifier),
                     settings_key(args.epochs, args.limit, args.num_samples))
            print(f"\nwrote {args.out_md}")
    if conditional and asked & set(CONDITIONAL_RECIPES):
        crows = summarize(conditional)
        print()
        print(conditional_table(crows))
        for row, ok, text in conditional_verdicts(crows, rows):
            print(f"{row['backend']} / {row['recipe']}: {'n/a' if ok is None else 'PASS' if ok else 'FAIL'}: {text}")
        paired = conditional_controls(conditional)
        if paired:
            print("\n" + paired)
        if not args.no_md and classifier:
            write_md(args.out_md, conditional_markdown(args, crows, conditional, rows, classifier),
                     conditional_settings(args))
            print(f"\nwrote {args.out_md}")


if __name__ == "__main__":
    main()
