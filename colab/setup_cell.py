# Setup. On Colab: clone this course and install it with its pinned libraries (Colab's own torch is kept,
# never reinstalled). Anywhere else: the local environment from `make setup` is used as it is.
import os, subprocess, sys
if "google.colab" in sys.modules and not os.path.isdir("llm-workbook"):
    repo = os.environ.get("WORKBOOK_REPO", "https://github.com/llm-workbook/llm-workbook")
    subprocess.run(["git", "clone", "--depth", "1", repo, "llm-workbook"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "llm-workbook[colab]"], check=True)
if os.path.isdir("llm-workbook") and os.path.abspath("llm-workbook") not in sys.path:
    sys.path.insert(0, os.path.abspath("llm-workbook"))
from helpers.colab import report_environment
report_environment()
