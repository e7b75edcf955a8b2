"""The README's ten-line example prints exactly the generated code the README shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_ten_line_example_prints_what_the_readme_shows(tmp_path):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    section = text[text.index("## Ten lines"):text.index("## API")]
    example, shown = _python_blocks(section)
    assert "si.source(f, \"ijvp\")" in example
    (tmp_path / "demo.py").write_text(example, encoding="utf-8")   # the name the code cites
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "demo.py"], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert shown.strip() in proc.stdout, proc.stdout
