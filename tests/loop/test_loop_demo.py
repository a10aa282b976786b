"""`kfp-mlops demo level2` end to end: the champion changes only through the gate, and is served."""
import os

from kfp_mlops.pipelines.cli.main import main


def test_demo_level2_closes_the_loop(tmp_path, capfd, isolated_home):
    code = main(["demo", "level2", "--workdir", str(tmp_path / "demo")])
    out = capfd.readouterr().out
    assert code == 0, out
    for step in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"):
        assert step in out
    assert "drift above threshold" in out and "decayed" in out
    assert "retrained: penguins v2 registered and promoted to champion" in out
    assert "endpoint now serves v2" in out
    old = float(out.split("old champion v1: ")[1].split("; ")[1].split(" ")[0])
    new = float(out.split("new champion v2: ")[1].split("; ")[1].split(" ")[0])
    assert new > old + 0.05  # measured on the labelled era-2 traffic, which neither model trained on
    assert os.environ["KFP_MLOPS_HOME"] == str(isolated_home)  # the demo restores the caller's home
