"""A pipeline whose one step writes its pid (and its child's) to a file and then sleeps.

Run as a script (``python sleeper_pipeline.py ROOT PID_FILE SECONDS``), it runs the
pipeline with the local runner, so a test can kill this driver and check the task ends.
"""
import sys

from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def sleep_then_finish(pid_file: str, seconds: float) -> str:
    """Starts a grandchild that sleeps too, writes both pids, sleeps."""
    import os
    import subprocess
    import sys as system
    import time

    child = subprocess.Popen([system.executable, "-c", f"import time; time.sleep({seconds})"])
    with open(pid_file + ".tmp", "w") as handle:
        handle.write(f"{os.getpid()} {child.pid}")
    os.replace(pid_file + ".tmp", pid_file)
    time.sleep(seconds)
    return "done"


@dsl.pipeline(name="sleeper")
def sleeper(pid_file: str, seconds: float = 1.0):
    sleep_then_finish(pid_file=pid_file, seconds=seconds).set_display_name("Sleep a while")


if __name__ == "__main__":
    from kfp_mlops.pipelines import local_runner

    root, pid_file, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    local_runner.run_pipeline(sleeper, {"pid_file": pid_file, "seconds": seconds}, root=root,
                              enable_caching=False, log_path=f"{root}/sleeper.log")
