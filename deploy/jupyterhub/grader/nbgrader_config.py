"""nbgrader for the grader's JupyterLab on the hub (JUPYTER_CONFIG_PATH=deploy/jupyterhub/grader): formgrader,
Create Assignment and the course list stay on (nbgrader's defaults); the course folder and the exchange come
from the spawner's environment (BP_COURSE_DIR, NBGRADER_EXCHANGE)."""

import os

c = get_config()  # noqa: F821 (provided by Jupyter)

c.CourseDirectory.course_id = "beyond-prompting"
if os.environ.get("BP_COURSE_DIR"):
    c.CourseDirectory.root = os.environ["BP_COURSE_DIR"]
if os.environ.get("NBGRADER_EXCHANGE"):
    c.Exchange.root = os.environ["NBGRADER_EXCHANGE"]
