# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for get-pip.py, which ansible-test --venv downloads from a host this machine cannot reach.

It bootstraps pip from the standard library (ensurepip), then installs what ansible-test asked for
(pip==X, setuptools, wheel ...) from the package index, like get-pip.py would.
"""

from __future__ import annotations

import subprocess
import sys


def main() -> None:
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
    args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
    subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)


if __name__ == '__main__':
    main()
