"""kfp-mlops components: one folder per capability, over the shared core (``core/``)."""
from kfp_mlops.components.core.log import configure_task

configure_task()  # inside a KFP task only: the library's progress goes to the step's log
