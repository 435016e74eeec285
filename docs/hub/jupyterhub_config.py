"""JupyterHub configuration for the mlsyslab course on one machine (see docs/instructors.md,
"Running the course on JupyterHub").

* Every person is a Unix user of the machine; they log in with their Unix password (PAM).
* The hub runs as root and starts each person's single-user server **as that Unix user**
  (LocalProcessSpawner), from one shared Python environment that holds
  ``jupyterhub``, ``jupyterlab``, ``nbgrader`` and ``mlsyslab`` (the "user image").
* nbgrader's exchange is a folder every user can write to (``chmod 1777``), configured for all
  users in ``/etc/jupyter/nbgrader_config.py``; the course folder is in the instructor's home.

tests/test_hub.py starts a real hub from this file (it loads it, then overrides only the
addresses, the state paths and the user names), so what is written here is what is tested.
Copy it to /etc/jupyterhub/jupyterhub_config.py and edit the names below.
"""

import os

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

# --- who: instructors grade (admin on the hub), students work the labs -------------------------
INSTRUCTORS = ["instructor"]
STUDENTS = ["ada", "bob", "eve"]
# The Python environment every user server runs from (readable by every user).
USER_ENV = os.environ.get("MLSYSLAB_HUB_USER_ENV", "/opt/mlsyslab")

c.JupyterHub.authenticator_class = "pam"  # Unix accounts and passwords
c.Authenticator.allowed_users = set(INSTRUCTORS + STUDENTS)
c.Authenticator.admin_users = set(INSTRUCTORS)
c.JupyterHub.load_groups = {"instructors": {"users": INSTRUCTORS}, "students": {"users": STUDENTS}}

# --- where: the public address; the hub's own API stays on the loopback -------------------------
c.JupyterHub.bind_url = "http://:8000"
c.JupyterHub.hub_ip = "127.0.0.1"

# --- how: one process per user, run as that Unix user, in their home ---------------------------
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [os.path.join(USER_ENV, "bin", "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
# Voila pages (/voila/render/..., the labs' explorers) ask no CDN for anything: MathJax 3 bundled with
# JupyterLab, Font Awesome from Voila's own files (mlsyslab.labs.offline.SERVER_ARGS)
c.Spawner.args = ["--ServerApp.tornado_settings=mathjax_url=null", "--ServerApp.tornado_settings=mathjax_config=null",
                  "--ServerApp.jpserver_extensions=mlsyslab.labs.offline=True", "--VoilaConfiguration.template=mlsyslab"]
c.Spawner.environment = {
    # the user environment first: `nbgrader`, `mlsyslab` and the kernel all come from it
    "PATH": os.path.join(USER_ENV, "bin") + ":/usr/local/bin:/usr/bin:/bin",
}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# Students' homes are theirs alone (Debian creates them world-readable): their copies of the
# labs and their feedback cannot be read by the others.
def _private_home(spawner):
    import pwd

    home = pwd.getpwnam(spawner.user.name).pw_dir
    os.chmod(home, 0o700)


c.Spawner.pre_spawn_hook = _private_home
