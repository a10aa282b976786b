"""A fleet of models from one declarative project file: ``plan``, ``apply``, ``status``.

    project = load_project("docs/examples/fleet.yaml")   # JSON Schema, then cron and environments
    plan = make_plan(project)                           # desired vs the state of the last apply
    plan, outcomes = apply_project(project)             # train / submit / schedule what changed
    print("\\n".join(status_table(project_status(project))))

See :mod:`~kfp_mlops.pipelines.project.spec` for the file,
:mod:`~kfp_mlops.pipelines.project.state` for the state, and the schema in
``schema.json`` beside this module.
"""
from kfp_mlops.pipelines.project.apply import Outcome, apply_plan, apply_project
from kfp_mlops.pipelines.project.plan import Change, Plan, make_plan
from kfp_mlops.pipelines.project.spec import Deployment, Project, load_project, project_schema
from kfp_mlops.pipelines.project.status import StatusRow, project_status, status_table

__all__ = ["Change", "Deployment", "Outcome", "Plan", "Project", "StatusRow", "apply_plan", "apply_project",
           "load_project", "make_plan", "project_schema", "project_status", "status_table"]
