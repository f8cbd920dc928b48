"""nbgrader for a student's JupyterLab (JUPYTER_CONFIG_PATH=deploy/jupyterhub/student): the course's exchange.

The hub's spawner sets NBGRADER_EXCHANGE; without it (`make lab`, self-learners) there is no exchange and the
Assignments panel simply lists nothing."""

import os

c = get_config()  # noqa: F821 (provided by Jupyter)

c.CourseDirectory.course_id = "beyond-prompting"
if os.environ.get("NBGRADER_EXCHANGE"):
    c.Exchange.root = os.environ["NBGRADER_EXCHANGE"]
