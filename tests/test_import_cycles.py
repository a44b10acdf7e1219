"""Every module of Tenure's imports first, on its own: an import cycle that works only in one order
(`starter.api.errors` → client → segments → ingress → `starter.api.errors`) broke `import
starter.api.errors` and `starter.console.campaigns` while the app, imported in another order, ran."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "workflows", "activities", "storage", "starter")

# In one interpreter: for each module, forget every module of Tenure's (and the metrics registry),
# then import it first.
PROBE = """
import importlib, pkgutil, sys, traceback
packages = {packages!r}
names = ["worker", "settings"]
for package in packages:
    module = importlib.import_module(package)
    names.append(package)
    names += [m.name for m in pkgutil.walk_packages(module.__path__, package + ".")
              if ".migrations." not in m.name and not m.name.endswith("__main__")]
failed = []
for name in sorted(set(names)):
    # prometheus_client too: its registry refuses a metric registered again by a module imported again
    for loaded in [m for m in sys.modules if m.split(".")[0] in packages + ("worker", "settings", "prometheus_client")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_first_on_its_own():
    probe = PROBE.format(packages=PACKAGES)
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"modules that do not import first:\n{done.stdout}{done.stderr[-2000:]}"
