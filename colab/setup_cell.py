# Setup. On Colab: clone this course and install it with its pinned libraries (Colab's own torch is kept,
# never reinstalled). If the clone or the install fails, run this cell again: it retries until both succeeded.
# Anywhere else: the local environment from `make setup` is used as it is.
import os, shutil, subprocess, sys
COURSE = os.path.abspath("llm-workbook")
if "google.colab" in sys.modules and not os.path.isdir(COURSE):
    repo = os.environ.get("WORKBOOK_REPO", "https://github.com/llm-workbook/llm-workbook")
    shutil.rmtree(COURSE + ".partial", ignore_errors=True)  # what a failed clone left behind
    subprocess.run(["git", "clone", "--depth", "1", repo, COURSE + ".partial"], check=True)
    os.rename(COURSE + ".partial", COURSE)  # only a complete clone gets the name
if os.path.isdir(COURSE) and COURSE not in sys.path:
    sys.path.insert(0, COURSE)
from helpers.env.colab import ensure_installed, report_environment
ensure_installed(COURSE)  # on Colab: pip install, unless an earlier run of this cell did so successfully
report_environment()  # versions, GPU, and whether to restart the runtime
