"""``kfp-mlops compile``: compile pipelines for Vertex AI or open-source Kubeflow."""
from __future__ import annotations

import argparse

from kfp_mlops.components.images import DEFAULT_REGISTRY, DEFAULT_TAG
from kfp_mlops.pipelines.targets import compiled_targets


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``compile`` subcommand."""
    parser = subparsers.add_parser(
        "compile",
        help="compile pipelines to YAML for a target",
        description="Compile one pipeline (or all) for Vertex AI or open-source Kubeflow.",
    )
    parser.add_argument("pipeline", nargs="?", help="pipeline name (default: every pipeline)")
    parser.add_argument("--target", required=True, choices=compiled_targets())
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--image-tag", default=DEFAULT_TAG, help="tag of the component images (e.g. a commit SHA)")
    parser.add_argument("--image-registry", default=DEFAULT_REGISTRY, help="registry prefix of the component images")
    pin = parser.add_mutually_exclusive_group()
    pin.add_argument("--image-digest", action="store_true",
                     help="pin every image by digest, resolving --image-tag through the registry's API")
    pin.add_argument("--image-digest-file", metavar="FILE",
                     help="pin every image by digest from FILE: REF@sha256:... lines (docker inspect RepoDigests) "
                          "or JSON {family: digest}")
    training = parser.add_argument_group("training pipeline options (tuning takes --trainer; the others take none)")
    training.add_argument("--trainer", choices=("sklearn", "keras"), default="sklearn")
    training.add_argument("--import-schema", action="store_true",
                          help="take a curated schema.pbtxt (schema_path parameter) instead of inferring one")
    training.add_argument("--accelerator",
                          help="accelerator for the Keras trainer, e.g. NVIDIA_L4 (vertex) or nvidia-l4 (kfp)")
    training.add_argument("--accelerator-count", type=int, default=1)
    training.add_argument("--data-source", choices=("file", "bigquery"), default="file",
                          help="bigquery: data_path is a bq:// table or a SQL query. training (vertex only): the "
                               "split runs as BigQuery query jobs exporting Parquet shards; batch-prediction (any "
                               "target): the rows are read through the BigQuery client. file (default): any path; "
                               "a bq:// training source is then read through the client")
    training.add_argument("--tune", action="store_true",
                          help="search hyperparameters before the final fit: a Vertex AI hyperparameter tuning job "
                          "(vertex) or a Katib Experiment (kfp)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Compiles and prints each written file."""
    from kfp_mlops.pipelines.compiler import compile_pipeline, factory_options, pipeline_factories

    names = [args.pipeline] if args.pipeline else sorted(pipeline_factories())
    digests = None
    if args.image_digest_file:
        from kfp_mlops.pipelines.image_digests import read_digest_file

        digests = read_digest_file(args.image_digest_file)
    elif args.image_digest:
        from kfp_mlops.pipelines.image_digests import resolve_digests

        digests = resolve_digests(args.image_registry, args.image_tag)
    given = {"trainer": args.trainer, "import_schema": args.import_schema,
             "accelerator": args.accelerator, "accelerator_count": args.accelerator_count, "tune": args.tune,
             "data_source": args.data_source}
    for name in names:
        path = compile_pipeline(name, args.target, args.out, image_tag=args.image_tag,
                                image_registry=args.image_registry, image_digests=digests,
                                **factory_options(name, given))
        print(f"compiled {name} for {args.target}: {path}")
    return 0
