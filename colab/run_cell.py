# Profile and run directory. WORKBOOK_PROFILE (cpu | tiny | t4 | ampere | rehearsal) overrides the hardware detection.
# On Colab, Drive is mounted so that checkpoints survive a disconnect; without Drive, the run stays local.
from helpers.env.profiles import get_profile
from helpers.env.runs import in_colab, mount_drive, run_dir, shown
if in_colab():
    mount_drive()
PROFILE = get_profile()
RUN = run_dir()
print(PROFILE.summary(STAGE))
print("run directory:", shown(RUN))
