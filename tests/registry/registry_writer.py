"""A registry writer run in its own process by the interruption tests.

Usage: python registry_writer.py ROOT MODEL_DIR NAME STAGE

STAGE picks where the writer stops, announces ``PAUSED`` on stdout and waits
to be killed: ``index`` (new index written to its temporary file, not yet
renamed over index.json), ``placed`` (model folder renamed into place, index
not yet written), or ``loop`` (announces after its first round, then registers and promotes forever).
"""
import sys
import time

from kfp_mlops.components.registry import local

root, model_dir, name, stage = sys.argv[1:5]


def pause(*args, **kwargs):
    print("PAUSED", flush=True)
    time.sleep(600)


if stage == "index":
    local.os.fsync = pause  # inside write_json_atomic, after the temporary file is written
elif stage == "placed":
    local.LocalRegistry._write = pause
registry = local.LocalRegistry(root)
if stage == "loop":
    for turn in range(10**9):
        version = registry.register(model_dir, name)
        registry.promote(name, version.version)
        registry.promote(name, "v1")
        if turn == 0:
            print("PAUSED", flush=True)  # running: the test kills it at some later moment
registry.register(model_dir, name)
print("FINISHED", flush=True)
