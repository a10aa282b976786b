"""The library logs per capability; the CLI and KFP tasks install the one handler."""
import io
import logging
import subprocess
import sys

from kfp_mlops.components.core import log


def test_records_are_tagged_with_their_capability():
    stream = io.StringIO()
    log.configure(stream=stream)
    logging.getLogger("kfp_mlops.components.training.sklearn_trainer").info("trained in %.1fs", 1.25)
    logging.getLogger("kfp_mlops.components.registry.local").warning("index is old")
    logging.getLogger("kfp_mlops.components.data.ingest").debug("not shown at INFO")
    assert stream.getvalue().splitlines() == ["[training] trained in 1.2s", "[registry] warning: index is old"]
    log.configure(stream=stream)  # configuring again reuses the handler: no line printed twice
    logging.getLogger("kfp_mlops.components.data.ingest").info("once")
    assert stream.getvalue().count("[data] once") == 1


def test_a_kfp_task_configures_itself_and_nothing_else_does():
    code = ("import logging, kfp_mlops.components; "
            "logging.getLogger('kfp_mlops.components.evaluation.evaluate').info('BLESSED')")
    inside = subprocess.run([sys.executable, "-c", code], env={"_KFP_RUNTIME": "true", "PATH": ""},
                            capture_output=True, text=True, check=True)
    assert inside.stdout.strip() == "[evaluation] BLESSED"
    outside = subprocess.run([sys.executable, "-c", code], env={"PATH": ""}, capture_output=True, text=True,
                             check=True)
    assert outside.stdout == "" and outside.stderr == ""


def test_the_cli_handler_follows_stdout_even_after_a_test_stream(capsys):
    log.configure(stream=io.StringIO())
    log.configure()  # what the CLI does: back to the current stdout
    logging.getLogger("kfp_mlops.components.registry.local").info("v3 is now champion")
    assert capsys.readouterr().out == "[registry] v3 is now champion\n"


def test_a_task_line_prints_once_beside_the_executors_root_handler():
    code = ("import logging, sys; logging.basicConfig(stream=sys.stdout, format='[KFP Executor] %(message)s', "
            "level=logging.INFO); import kfp_mlops.components; "
            "logging.getLogger('kfp_mlops.components.data.ingest').info('split 3 ways')")
    done = subprocess.run([sys.executable, "-c", code], env={"_KFP_RUNTIME": "true", "PATH": ""},
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[data] split 3 ways"]
