"""cloudbuild.yaml: step order and dependencies, substitutions, and the test and compile steps run for real.

The docker steps cannot run here (no Docker); they are checked for shape and
bash syntax only. Cloud Build substitution is reproduced: ``$$`` escapes a
shell variable, ``$NAME`` and ``${NAME}`` are substituted.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kfp_mlops.pipelines.submission.credentials import scan_file, scan_text

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "cloudbuild.yaml"
FAMILIES = ("core", "tf", "gpu", "serve")
BUILTINS = {"PROJECT_ID", "BUILD_ID", "PROJECT_NUMBER", "LOCATION", "TRIGGER_NAME", "COMMIT_SHA", "REVISION_ID",
            "SHORT_SHA", "REPO_NAME", "REPO_FULL_NAME", "BRANCH_NAME", "TAG_NAME", "REF_NAME", "SERVICE_ACCOUNT_EMAIL"}
REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
SELFTEST = "KFP_MLOPS_CLOUDBUILD_SELFTEST"


def load():
    return yaml.safe_load(CONFIG.read_text())


def steps():
    return {step["id"]: step for step in load()["steps"]}


def script(step) -> str:
    args = step["args"]
    assert step["entrypoint"] == "bash" and args[0] == "-c", step["id"]
    return args[1]


def references(text: str) -> set[str]:
    return {a or b for a, b in REFERENCE.findall(text.replace("$$", ""))}


def substitute(text: str, values: dict) -> str:
    """Cloud Build substitution: unknown names are an error, as Cloud Build makes them."""
    def one(match):
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"substitution {name} has no value")
        return str(values[name])

    return REFERENCE.sub(one, text.replace("$$", "\0")).replace("\0", "$")


def values(**overrides) -> dict:
    declared = {key: substitute(str(value), {"PROJECT_ID": "proj-1"}) for key, value in load()["substitutions"].items()}
    return {**{name: "" for name in BUILTINS}, "PROJECT_ID": "proj-1", "SHORT_SHA": "abc1234",
            "COMMIT_SHA": "abc1234" + "0" * 33, "BUILD_ID": "b-1", **declared, **overrides}


def seconds(duration: str) -> int:
    assert re.fullmatch(r"\d+s", duration), duration
    return int(duration[:-1])


def test_step_order_and_dependencies():
    config = load()
    assert [s["id"] for s in config["steps"]] == [
        "test", "build-core", "build-tf", "build-gpu", "build-serve", "compile", "upload", "submit"]
    by_id = steps()
    assert "waitFor" not in by_id["test"]  # first: waits for nothing
    for family in FAMILIES:
        assert by_id[f"build-{family}"]["waitFor"] == ["test"]
    assert by_id["compile"]["waitFor"] == [f"build-{f}" for f in FAMILIES]  # pins the digests they pushed
    assert by_id["upload"]["waitFor"] == ["compile"]
    assert set(by_id["submit"]["waitFor"]) == {"upload", *(f"build-{f}" for f in FAMILIES)}


def test_every_step_has_a_timeout_within_the_build_timeout():
    config = load()
    by_id = steps()
    total = seconds(config["timeout"])
    for step in by_id.values():
        assert 0 < seconds(step["timeout"]) <= total, step["id"]

    def longest(step_id):
        deps = by_id[step_id].get("waitFor", [])
        return seconds(by_id[step_id]["timeout"]) + max((longest(d) for d in deps), default=0)

    assert longest("submit") <= total


def test_every_substitution_used_is_declared_with_a_default_and_every_declared_one_is_used():
    config = load()
    declared = config["substitutions"]
    used = references(yaml.safe_dump(config["steps"]))
    user = {name for name in used if name.startswith("_")}
    assert user <= set(declared), f"undeclared: {user - set(declared)}"
    assert set(declared) <= used, f"declared but unused: {set(declared) - used}"
    assert used - user <= BUILTINS, f"unknown built-ins: {used - user - BUILTINS}"
    assert all(isinstance(value, str) for value in declared.values())
    for value in declared.values():  # defaults refer only to built-ins (dynamic substitutions)
        assert references(value) <= BUILTINS
    assert config["options"]["dynamicSubstitutions"] is True
    assert declared["_PUBLISH"] == "true" and declared["_TARGET"] in ("vertex", "kfp")


def test_no_secrets_in_the_file():
    text = CONFIG.read_text()
    assert scan_text(text) == []
    assert not re.search(r"(?i)(secretEnv|availableSecrets|password|token|BEGIN .*KEY)", text)


@pytest.mark.parametrize("family", FAMILIES)
def test_docker_steps_build_each_family_with_cache_and_both_tags(family):
    text = substitute(script(steps()[f"build-{family}"]), values())
    image = f"us-central1-docker.pkg.dev/proj-1/kfp-mlops/kfp-mlops-{family}"
    assert f"IMAGE={image}" in text
    build = next(line for line in text.splitlines() if line.startswith("docker build"))
    assert "--cache-from $IMAGE:latest" in build and f"-f images/{family}/Dockerfile" in build
    assert "-t $IMAGE:abc1234 -t $IMAGE:latest" in build and build.endswith(" .")
    assert "docker push $IMAGE:abc1234" in text and "docker push $IMAGE:latest" in text
    assert ("docker inspect --format '{{index .RepoDigests 0}}' $IMAGE:abc1234 > digests/$(basename $IMAGE).txt"
            in text)


@pytest.mark.parametrize("publish", ["true", "false"])
def test_every_script_is_valid_bash_and_pr_builds_skip_publishing(publish, tmp_path):
    for step_id, step in steps().items():
        text = substitute(script(step), values(_PUBLISH=publish, _KFP_HOST="http://h"))
        subprocess.run(["bash", "-n", "-c", text], check=True)
        if step_id in ("test", "compile"):
            continue
        # Run only up to the _PUBLISH gate: with "false" the step must exit 0 having done nothing.
        gate = text.split("\n")[:2]
        assert gate[1].startswith('if [ "') and "exit 0" in gate[1], step_id
        run = subprocess.run(["bash", "-c", "\n".join(gate) + "\necho PAST_GATE"], capture_output=True, text=True,
                             cwd=tmp_path)
        assert run.returncode == 0 and ("PAST_GATE" in run.stdout) == (publish == "true"), (step_id, run.stdout)


def test_submit_step_arguments_per_target():
    text = script(steps()["submit"])
    for target, expected in [("vertex", "--project proj-1 --region us-central1 --pipeline-root "
                                         "gs://proj-1-kfp-mlops/pipeline-root"),
                             ("kfp", '--host "http://kfp:8888"')]:
        body = substitute(text, values(_TARGET=target, _KFP_HOST="http://kfp:8888", _WAIT="true",
                                       _PIPELINE_PARAMS="--param data_path=gs://b/d.csv"))
        assert expected in body and "compiled/" + target + "/training.yaml --target " + target in body
        # Run the argument assembly with a stand-in for the CLI, to see the exact argv.
        fake = body.replace(".venv/bin/kfp-mlops submit", "printf '%s\\n'")
        argv = subprocess.run(["bash", "-c", fake], capture_output=True, text=True, check=True).stdout.splitlines()
        assert argv[:3] == [f"compiled/{target}/training.yaml", "--target", target]
        assert "--wait" in argv and argv[-2:] == ["--param", "data_path=gs://b/d.csv"]
        assert "build=b-1" in argv and "trigger=cloud-build" in argv


def test_submit_step_takes_a_named_environment():
    body = substitute(script(steps()["submit"]), values(_TARGET="vertex", _ENV="staging"))
    fake = body.replace(".venv/bin/kfp-mlops submit", "printf '%s\\n'")
    argv = subprocess.run(["bash", "-c", fake], capture_output=True, text=True, check=True).stdout.splitlines()
    assert argv[:3] == ["compiled/vertex/training.yaml", "--target", "vertex"]
    assert argv[argv.index("--env") + 1] == "staging" and argv[argv.index("--environments") + 1] == "environments.yaml"
    assert "--project" not in argv and "--pipeline-root" not in argv  # the environment gives them
    from kfp_mlops.pipelines.cli.main import build_parser

    args = build_parser().parse_args(["submit", *argv])
    assert (args.env, args.target) == ("staging", "vertex")


@pytest.mark.skipif(os.environ.get(SELFTEST) == "1", reason="already inside the test step's own run")
def test_the_test_step_runs_its_commands(tmp_path):
    """The test step's install lines are checked for shape (no installs here); its pytest line really runs.

    _PYTEST_ARGS selects one small module, so the suite never recurses into this test.
    """
    lines = [line for line in script(steps()["test"]).splitlines() if line.strip()]
    assert lines[0] == "set -euo pipefail"
    assert lines[1] == "python -m venv .venv" and lines[2] == '.venv/bin/python -m pip install -q -e ".[dev]"'
    assert lines[3] == ".venv/bin/python -m pytest -q ${_PYTEST_ARGS}" and len(lines) == 4
    selection = "tests/submission/test_submission_checks.py -k backoff -p no:cacheprovider"
    command = substitute("\n".join([lines[0], lines[3]]), values(_PYTEST_ARGS=selection))
    env = {**os.environ, SELFTEST: "1"}
    run = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"\b1 passed\b", run.stdout), run.stdout


@pytest.mark.parametrize("target", ["vertex", "kfp"])
def test_the_compile_step_runs_for_real(target, tmp_path):
    """Runs every line of the compile step in a fresh workspace that has the project venv as .venv."""
    from kfp_mlops.pipelines.compiler import pipeline_factories

    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    command = substitute(script(steps()["compile"]), values(_TARGET=target))
    run = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no credentials" in run.stdout
    out = tmp_path / "compiled" / target
    assert sorted(p.stem for p in out.glob("*.yaml")) == sorted(pipeline_factories())
    for path in out.glob("*.yaml"):
        images = set(re.findall(r"image: (\S+)", path.read_text()))
        ours = {i for i in images if "kfp-mlops-" in i}
        assert ours and all(i.startswith("us-central1-docker.pkg.dev/proj-1/kfp-mlops/") and i.endswith(":abc1234")
                            for i in ours), images
        assert scan_file(path) == []
        assert (len(list(yaml.safe_load_all(path.read_text()))) > 1) <= (target == "kfp")


def test_the_compile_step_pins_the_digests_the_build_steps_wrote(tmp_path):
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    (tmp_path / "digests").mkdir()
    digests = {}
    for family in FAMILIES:  # what `docker inspect --format '{{index .RepoDigests 0}}'` prints after a push
        digests[family] = "sha256:" + f"{FAMILIES.index(family)}" * 64
        image = f"us-central1-docker.pkg.dev/proj-1/kfp-mlops/kfp-mlops-{family}"
        (tmp_path / "digests" / f"kfp-mlops-{family}.txt").write_text(f"{image}@{digests[family]}\n")
    command = substitute(script(steps()["compile"]), values(_TARGET="vertex"))
    run = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    images = set(re.findall(r"image: (\S+kfp-mlops-\S+)", (tmp_path / "compiled/vertex/training.yaml").read_text()))
    assert images == {f"us-central1-docker.pkg.dev/proj-1/kfp-mlops/kfp-mlops-{f}@{digests[f]}"
                      for f in ("core", "serve")}


def test_the_compile_step_refuses_an_empty_commit(tmp_path):
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    command = substitute(script(steps()["compile"]), values(SHORT_SHA=""))
    run = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "SHORT_SHA is empty" in run.stdout


def test_every_image_build_uses_a_dockerfile_in_the_repo():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "cloudbuild.yaml").read_text()
    dockerfiles = re.findall(r"-f (\S+/Dockerfile)", text)
    assert len(dockerfiles) == 4
    for dockerfile in dockerfiles:
        assert (Path(__file__).resolve().parents[2] / dockerfile).is_file(), dockerfile
