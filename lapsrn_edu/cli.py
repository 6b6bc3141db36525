"""The ``lapsrn-edu`` command line: evaluate, benchmark, upscale, info, download, demo, train, export, course, slides.

Every subcommand is one ``add_parser`` block in :func:`build_parser` plus one ``run_<name>``
function that receives the parsed arguments and returns an exit code. Errors the user can fix
(a missing or unreadable file, bad weights, an unknown name, an unsupported scale, missing data)
are reported as one line on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

from . import __version__
from .errors import OptionError, UserError, one_line

PROG = "lapsrn-edu"
# The errors a user can fix: the package's own (lapsrn_edu.errors) and the operating system's refusals
# (a folder not writable, a full disk). Anything else is a bug: its traceback is shown.
USER_ERRORS = (UserError, OSError)


def training_setting(text: str) -> tuple[str, Any]:
    """FIELD=VALUE for a training field, its value read as the field's type."""
    from .training.config import parse_value

    key, sep, raw = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: write FIELD=VALUE, e.g. scale=8")
    try:
        return key.strip().replace("-", "_"), parse_value(key.strip().replace("-", "_"), raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def comma_ints(text: str) -> list[int]:
    try:
        return [int(item) for item in comma_list(text)]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc


def show_progress() -> bool:
    """Progress bars only when a person watches (stderr is a terminal), not in logs or pipes."""
    return sys.stderr.isatty()


def note(message: str) -> None:
    print(f"{PROG}: note: {message}", file=sys.stderr)


def default_model(scale: int, root: str | None) -> str:
    """The best model present for ``scale`` (:func:`zoo.best_for_scale`), with a note for bicubic."""
    from .evaluation import zoo

    name = zoo.best_for_scale(scale, root)
    if name == "bicubic":
        note(f"no official-x{scale} or ours-x{scale} weights found; using bicubic (run `{PROG} download weights`)")
    return name


# --- evaluate -------------------------------------------------------------------------------------


def run_evaluate(args: argparse.Namespace) -> int:
    from .evaluation.evaluate import evaluate

    result = evaluate(
        args.model,
        args.dataset,
        args.scale,
        root=args.data_root,
        gray_as_rgb=not args.gray_as_gray,
        device=args.device,
        progress=show_progress(),
        engine=args.engine or "auto",
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    width = max([len("image"), *(len(s.name) for s in result.images)])
    print(f"{result.model} x{result.scale} on {result.dataset}")
    print(f"{'image':<{width}}  {'PSNR (dB)':>9}  {'SSIM':>7}")
    for s in result.images:
        print(f"{s.name:<{width}}  {s.psnr:>9.4f}  {s.ssim:>7.5f}")
    print(f"{'mean':<{width}}  {result.psnr:>9.4f}  {result.ssim:>7.5f}")
    print(f"super-resolution time: {result.seconds:.2f} s for {len(result.images)} images")
    return 0


# --- benchmark ------------------------------------------------------------------------------------


def run_benchmark(args: argparse.Namespace) -> int:
    from .evaluation import zoo
    from .evaluation.evaluate import evaluate, results_table
    from .evaluation.upscale import model_levels
    from .models import levels_for_scale

    for scale in args.scales:
        levels_for_scale(scale)
    results = []
    for name in args.models:
        model = zoo.load(name, args.data_root)
        for scale in args.scales:
            if model is not None:
                try:
                    model_levels(model, scale)
                except ValueError:
                    note(f"{name} cannot give x{scale}; skipped")
                    continue
            for dataset in args.datasets:
                results.append(
                    evaluate(
                        model,
                        dataset,
                        scale,
                        root=args.data_root,
                        device=args.device,
                        engine=args.engine or "auto",
                        progress=show_progress(),
                        model_name=name,
                    )
                )
    if not results:
        raise OptionError("no model gives any of the requested scales")
    print(results_table(results, "markdown"))
    for path, fmt in ((args.csv, "csv"), (args.markdown, "markdown")):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(results_table(results, fmt) + ("\n" if fmt == "markdown" else ""), encoding="utf-8")
    return 0


# --- upscale --------------------------------------------------------------------------------------


def run_upscale(args: argparse.Namespace) -> int:
    from .data.datasets import read_image_and_depth, write_image
    from .evaluation import zoo
    from .evaluation.upscale import Upscaler

    # the request is checked (scale, tile, model, engine) by the Upscaler alone, before the image is read;
    # an unsupported scale has no default model to look for, so it reaches that check with bicubic
    name = args.model or (default_model(args.scale, args.data_root) if args.scale in (2, 4, 8) else "bicubic")
    upscaler = Upscaler(zoo.load(name, args.data_root), args.scale, args.tile, args.device, args.engine or "auto")
    image, depth = read_image_and_depth(args.input)
    sr = upscaler.image(image)
    written = write_image(args.output, sr, bit_depth=depth)
    if written != depth:
        note(f"{args.output}: written with {written} bits; this format or image kind cannot keep {depth}")
    h, w = sr.pixels.shape[:2]
    print(f"{args.output}: {w}x{h}, x{args.scale} with {name}")
    return 0


# --- info -----------------------------------------------------------------------------------------


def describe(name: str, root: str | None) -> dict:
    """What a model is and what it costs: architecture, its config, scales, parameters, FLOPs per output megapixel."""
    from .evaluation import zoo
    from .evaluation.flops import flops_per_megapixel
    from .models import SCALES, architecture_of, count_parameters
    from .models import describe as model_config

    model = zoo.load(name, root)
    if model is None:
        return {"model": name, "kind": "bicubic (MATLAB imresize, no network)", "scales": list(SCALES), "parameters": 0}
    entry = architecture_of(model)
    arch, config = model_config(model)
    top = cast(int, model.scale)
    scales = [s for s in SCALES if s <= top] if entry.pyramid else [top]
    return {
        "model": name,
        "kind": f"{arch}: {entry.summary}",
        "config": config,
        "scales": scales,
        "parameters": count_parameters(model),
        "gflops_per_output_megapixel": {str(s): round(flops_per_megapixel(model, s) / 1e9, 3) for s in scales},
    }


def run_info(args: argparse.Namespace) -> int:
    info = describe(args.model, args.data_root)
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"model:       {info['model']}")
    print(f"kind:        {info['kind']}")
    print(f"scales:      {', '.join(f'x{s}' for s in info['scales'])}")
    if "config" in info:
        print(f"config:      {', '.join(f'{k}={v}' for k, v in info['config'].items())}")
    print(f"parameters:  {info['parameters']:,}")
    for scale, gflops in info.get("gflops_per_output_megapixel", {}).items():
        print(f"x{scale}: {gflops:8.2f} GFLOPs per output megapixel (Y channel, 2 x multiply-adds)")
    return 0


# --- download -------------------------------------------------------------------------------------


def run_download(args: argparse.Namespace) -> int:
    from .data.download import download

    for what in dict.fromkeys(args.what):
        counts = download(
            what, root=args.data_root, mirror=args.mirror, manifest=args.manifest, progress=show_progress()
        )
        print(f"{what}: {counts['downloaded']} downloaded, {counts['skipped']} already present and verified")
    return 0


# --- demo -----------------------------------------------------------------------------------------


def run_demo(args: argparse.Namespace) -> int:
    from .course.plots import sample_comparison

    sample_comparison(args.out, tuple(args.scales), root=args.data_root)
    print(f"{args.out}: comparison figure written")
    return 0


# --- train ----------------------------------------------------------------------------------------


def training_fields() -> dict[str, Any]:
    """TrainConfig's fields that are command-line flags (all but the recipe name and resume, which
    have flags of their own, and those the common options already give)."""
    from dataclasses import fields

    from .training.config import TrainConfig

    return {
        f.name: f for f in fields(TrainConfig) if f.name not in ("recipe", "resume", "data_root", "device", "engine")
    }


def flag_type(name: str, parse: Any) -> Any:
    """An argparse type that reads a TrainConfig field and reports a bad value in one line."""

    def read(raw: str) -> Any:
        try:
            return parse(name, raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    read.__name__ = name
    return read


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` flag per TrainConfig field, typed and explained by the dataclass itself."""
    from typing import get_type_hints

    from .training.config import TrainConfig, parse_value

    hints = get_type_hints(TrainConfig)
    group = parser.add_argument_group("training options (override the recipe; see TrainConfig)")
    for name, f in training_fields().items():
        flag, hint, explanation = "--" + name.replace("_", "-"), hints[name], f.metadata.get("help", "")
        if hint is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=explanation)
        else:
            group.add_argument(
                flag, type=flag_type(name, parse_value), default=None, metavar=name.upper(), help=explanation
            )


def run_train(args: argparse.Namespace) -> int:
    from .training.config import recipe
    from .training.trainer import Trainer, TrainingDivergedError, config_from_checkpoint

    given = (*training_fields(), "device", "engine", "data_root")  # the common options are training fields too
    overrides = {name: value for name, value in vars(args).items() if name in given and value is not None}
    if args.resume and args.config is None:
        config = config_from_checkpoint(args.resume, **overrides)
    else:
        config = recipe(args.config or "quick", **overrides, resume=args.resume)
    trainer = Trainer(config, progress=show_progress())  # a checkpoint that cannot resume fails here, before any note
    note(
        f"training {config.arch} with the {config.recipe} recipe at x{config.scale} into {config.out}"
        + (f", resuming {config.resume}" if config.resume else "")
    )
    try:
        history = trainer.run()
    except TrainingDivergedError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        note(f"continue with: {PROG} train --resume {Path(config.out) / 'last.pt'}")
        raise
    if history.epochs:
        last = history.epochs[-1]
        psnr = "" if last.val_psnr is None else f", {history.val_dataset} {last.val_psnr:.2f} dB"
        print(
            f"{config.out}: {last.epoch} epochs, {last.iteration} iterations, loss {last.loss:.4g}{psnr}, "
            f"{last.train_seconds / 60:.1f} min"
        )
    return 0


# --- study ----------------------------------------------------------------------------------------


def run_study_command(args: argparse.Namespace) -> int:
    from .studies import STUDIES, result_path, run_study

    names = list(STUDIES) if args.name == "all" else [args.name]
    if args.condition and args.name == "all":
        raise OptionError("--condition belongs to one study: name it (lapsrn-edu study STUDY --condition NAME)")
    overrides = {k: v for k, v in (("threads", args.threads), ("data_root", args.data_root)) if v is not None}
    overrides.update(dict(args.set))
    for name in names:
        result = run_study(
            name,
            args.budget,
            seeds=args.seeds,
            out=args.out,
            runs=args.runs,
            progress=show_progress(),
            variants=args.variants,
            condition=args.condition,
            **overrides,
        )
        if args.json:
            print(json.dumps(asdict(result)))
        else:
            variants = [v["name"] for v in result.variants_spec]
            print(result.summary() + f"\nsaved: {result_path(STUDIES[name], args.out, variants, args.condition)}\n")
    return 0


# --- export ---------------------------------------------------------------------------------------


def run_export(args: argparse.Namespace) -> int:
    from .training.export import export_run

    weights, card = export_run(
        args.run_dir,
        args.out_dir,
        tuple(args.datasets),
        root=args.data_root,
        progress=show_progress(),
        name=args.name,
        trained_on=args.trained_on,
        overwrite=args.overwrite,
    )
    print(f"{weights}: {weights.stat().st_size / 2**20:.2f} MB (float16); model card {card}")
    return 0


# --- course ---------------------------------------------------------------------------------------


def run_course_command(args: argparse.Namespace) -> int:
    from .course.build import fetch_course_data, run_course

    if args.fetch:
        print(fetch_course_data(progress=show_progress()), flush=True)
    out = args.out or ("build-instructor" if args.instructor else "build")
    runs = run_course("quick" if args.quick else "default", out, args.only, check=False, instructor=args.instructor)
    return 0 if all(run.ok for run in runs) else 1


def run_assignment(args: argparse.Namespace) -> int:
    from .course.assignment import export_assignment

    released = export_assignment(args.out, args.only, quick=args.quick, seed=args.seed)
    print(
        f"{len(released)} lesson(s) for nbgrader in {args.out}: hand out release/ to the students, keep source/ "
        f"(solutions, hidden tests); grade with `nbgrader autograde NN_name` there (the lecturer's guide says how)"
    )
    return 0


def run_slides(args: argparse.Namespace) -> int:
    from .course.build import build_slides

    decks = build_slides(args.out, args.only)
    print(f"{len(decks)} slide decks in {Path(args.out) / 'slides'}; open {Path(args.out) / 'index.html'}")
    return 0


# --- the parser: one small function per command -------------------------------------------------
# Each takes the command's parser (the common options already on it) and adds its own options,
# importing only what that command needs: `lapsrn-edu --help` imports no torch, `upscale` no
# training or studies.


def models_help() -> str:
    from .evaluation import zoo

    return ", ".join(zoo.MODEL_NAMES)


def device_options(p: argparse.ArgumentParser) -> None:
    from .engine.switch import ENGINES

    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: the fastest available)")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="auto: the inference engine for an unedited LapSRN on the CPU, else the model's own code; "
        "reference: always the model's own code; fast: the engine, or an error (default: auto)",
    )


def evaluate_options(p: argparse.ArgumentParser) -> None:
    device_options(p)
    p.add_argument("--model", required=True, help=f"{models_help()}, or a .pt/.mat file")
    p.add_argument(
        "--dataset",
        required=True,
        help="set5, set14, bsd100, urban100, manga109, t91, bsds200, embedded, or a folder of images",
    )
    p.add_argument("--scale", type=int, required=True, help="2, 4 or 8")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument(
        "--gray-as-gray",
        action="store_true",
        help="score gray images as gray (default: as RGB, the paper's convention; ~0.1 dB less on Set14)",
    )
    p.set_defaults(run=run_evaluate)


def benchmark_options(p: argparse.ArgumentParser) -> None:
    device_options(p)
    p.add_argument("--models", type=comma_list, required=True, help="comma-separated model names or files")
    p.add_argument(
        "--datasets",
        type=comma_list,
        default=["set5", "set14", "bsd100"],
        help="comma-separated (default: set5,set14,bsd100)",
    )
    p.add_argument(
        "--scales",
        type=comma_ints,
        default=[2, 4, 8],
        help="comma-separated (default: 2,4,8); a model skips scales it cannot give",
    )
    p.add_argument("--csv", metavar="FILE", help="also write the results as CSV")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    p.set_defaults(run=run_benchmark)


def upscale_options(p: argparse.ArgumentParser) -> None:
    device_options(p)
    p.add_argument("input", help="image file (gray, RGB, RGBA, 8 or 16 bits)")
    p.add_argument("output", help="output file; the format follows the extension (.png keeps everything)")
    p.add_argument("--scale", type=int, required=True, help="2, 4 or 8")
    p.add_argument("--model", help=f"{models_help()}, or a file (default: official-xS, else ours-xS, else bicubic)")
    p.add_argument("--tile", type=int, help="process in tiles of N low-resolution pixels (bounds memory; same result)")
    p.set_defaults(run=run_upscale)


def info_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help=f"{models_help()}, or a .pt/.mat file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_info)


def download_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "what", nargs="+", help="one or more of: weights, set5, set14, bsd100, urban100, manga109, train, all"
    )
    p.add_argument(
        "--mirror", metavar="URL", help="base URL instead of raw.githubusercontent.com (or $LAPSRN_EDU_MIRROR)"
    )
    p.add_argument("--manifest", metavar="FILE", help="another manifest than the package's sources.json (same format)")
    p.set_defaults(run=run_download)


def demo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="build/demo.png", help="output image (default: build/demo.png)")
    p.add_argument("--scales", type=comma_ints, default=[2, 4, 8], help="comma-separated (default: 2,4,8)")
    p.set_defaults(run=run_demo)


def train_options(p: argparse.ArgumentParser) -> None:
    device_options(p)
    p.add_argument(
        "--config",
        choices=["quick", "overnight", "paper", "gpu"],
        help="recipe (default: quick, or the checkpoint's with --resume)",
    )
    p.add_argument("--resume", metavar="CKPT", help="continue exactly from a checkpoint (e.g. RUN/last.pt)")
    add_training_flags(p)
    p.set_defaults(run=run_train)


def study_options(p: argparse.ArgumentParser) -> None:
    from .studies import BUDGETS, STUDIES

    p.add_argument("name", choices=[*STUDIES, "all"], help="which study (all: the five in turn)")
    p.add_argument(
        "--budget",
        choices=BUDGETS,
        default="course",
        help="smoke (seconds), course (600 iterations; 1,000 or 1,500 for the studies that need it), "
        "standard (3,000, the committed results), paper (GPU)",
    )
    p.add_argument(
        "--condition",
        metavar="NAME",
        help="run the study under one of its conditions (pyramid: x8; loss: sgd; depth: long), saved as "
        "STUDY-NAME.json",
    )
    p.add_argument(
        "--set",
        metavar="FIELD=VALUE",
        action="append",
        default=[],
        type=training_setting,
        help="change one training field of the budget, e.g. --set scale=8 (repeatable; recorded in the result's "
        "command; --set lr=... under a tuned condition trains every variant at that one rate instead of tuning)",
    )
    p.add_argument("--seeds", type=int, help="seeds per variant (default: the study's or its condition's)")
    p.add_argument(
        "--variants",
        type=comma_list,
        metavar="NAMES",
        help='train only these variants, comma-separated, e.g. "depth 3,depth 5" (default: all)',
    )
    p.add_argument("--out", default="build/studies", help="folder of the result STUDY.json (default: build/studies)")
    p.add_argument("--runs", default="runs/studies", help="folder of the training runs (resumed when interrupted)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(run=run_study_command)


def export_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN", help="run folder (its last.pt is used) or a last checkpoint file")
    p.add_argument(
        "--out-dir",
        default=str(Path(__file__).resolve().parent.parent / "data" / "models"),
        help="where ours-xS.pt and ours-xS.md go (default: the repo's data/models)",
    )
    p.add_argument(
        "--datasets", type=comma_list, default=["set5", "set14", "bsd100"], help="test sets scored on the card"
    )
    p.add_argument("--name", help="model name, the file's and the zoo's (default: ours-xS), e.g. ours-x4-gpu")
    p.add_argument(
        "--trained-on", metavar="TEXT", help="the machine the run trained on, for the card (default: this one)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a model of the same name (refused without it)")
    p.set_defaults(run=run_export)


def course_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--quick", action="store_true", help="quick mode (what CI runs); default: the student's default mode"
    )
    p.add_argument("--out", help="output folder (default: build, or build-instructor with --instructor)")
    p.add_argument("--only", metavar="NN,NN", help="comma-separated notebook numbers, e.g. 01,02")
    p.add_argument(
        "--instructor",
        action="store_true",
        help="the instructor build: the solutions and answers in every lesson, strict checks, the lecturer's guide",
    )
    p.add_argument(
        "--fetch",
        action="store_true",
        help="first download the official weights, Set5 and Set14 where missing (offline: go on with the embedded "
        "images)",
    )
    p.set_defaults(run=run_course_command)


def assignment_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="build-assignment", help="the nbgrader course folder (default: build-assignment)")
    p.add_argument("--only", metavar="NN,NN", help="comma-separated notebook numbers, e.g. 02,09")
    p.add_argument("--quick", action="store_true", help="set QUICK = True in the lessons, so that grading runs fast")
    p.add_argument("--seed", type=int, help="the seed of the hidden probes (default: a random one)")
    p.set_defaults(run=run_assignment)


def slides_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="build", help="the course's output folder (default: build); decks go to OUT/slides")
    p.add_argument("--only", metavar="NN,NN", help="comma-separated notebook numbers, e.g. 01,02")
    p.set_defaults(run=run_slides)


# name -> (one-line help, whether it takes --data-root, the function that adds its options)
COMMANDS: dict[str, tuple[str, bool, Any]] = {
    "evaluate": ("PSNR/SSIM of a model on a dataset (the paper's protocol)", True, evaluate_options),
    "benchmark": ("a table of PSNR/SSIM: models x datasets x scales", True, benchmark_options),
    "upscale": ("super-resolve an image file", True, upscale_options),
    "info": ("what a model is: scales, depth, parameters, FLOPs", True, info_options),
    "download": ("fetch weights and images from their pinned public sources, verified", True, download_options),
    "demo": ("write a figure comparing bicubic and LapSRN on sample images", True, demo_options),
    "train": (
        "train LapSRN or any registered architecture (--arch; recipes quick, paper or gpu); resumable",
        True,
        train_options,
    ),
    "study": ("run one of the paper's studies under a named budget and print its reading", True, study_options),
    "export": ("publish a run's LAST checkpoint as data/models/ours-xS.pt (fp16) + model card", True, export_options),
    "course": (
        "execute every notebook (papermill) into executed copies, HTML pages, slides and index.html",
        False,
        course_options,
    ),
    "assignment": (
        "export the lessons as nbgrader assignments: a release for students, hidden autograder tests (instructor kit)",
        False,
        assignment_options,
    ),
    "slides": (
        "rebuild the reveal.js decks (cells tagged slide) from the executed notebooks in --out",
        False,
        slides_options,
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Every command is listed with its help; only ``command``'s
    options are built (every command's when None, none for ""), so a command imports only what it needs."""
    parser = argparse.ArgumentParser(prog=PROG, description="Learn, run and reproduce LapSRN (Lai et al., CVPR 2017).")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, data_root, add_options) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if command is None or command == name:
            if data_root:
                p.add_argument(
                    "--data-root", metavar="DIR", help="data folder (default: $LAPSRN_EDU_DATA, else the repo's data/)"
                )
            add_options(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for any error the user can fix)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else "").parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as exc:
        message = one_line(exc)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(
            f"{PROG}: this is a bug in lapsrn-edu {__version__}, not a mistake of yours: please report it to the "
            "project's issue tracker with the traceback above and the command you ran",
            file=sys.stderr,
        )
        return 1
