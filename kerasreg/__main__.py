"""Command line of kerasreg.

`python -m kerasreg labs | lectures [NAMES...]` runs the notebooks headless
on the embedded offline data, writes the executed copies and `summary.md`
under `build/<folder>/`, prints the summary and exits non-zero when a
notebook failed; `--param ABLATE=True` sets a parameter of each notebook's
cell tagged `parameters`. `python -m kerasreg student SRC DST` writes the student
versions of solution notebooks (one file or a whole folder), the cells that
`nbgrader generate_assignment` writes, without an nbgrader course.
"""

import argparse
import sys
from pathlib import Path

from kerasreg.course import notebooks, student


def main(argv=None):
    """Entry point of `python -m kerasreg` and of the `kerasreg` script."""
    parser = argparse.ArgumentParser(prog="python -m kerasreg", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for folder in ("labs", "lectures"):
        command = commands.add_parser(folder, help=f"execute the notebooks of {folder}/")
        command.add_argument("names", nargs="*", help="notebooks to run (default: all)")
        command.add_argument("--root", default=".", help="repository root (default: .)")
        command.add_argument("--inplace", action="store_true",
                             help="store the outputs back into the source notebooks")
        command.add_argument("--cell-timeout", type=int, default=300, metavar="SECONDS")
        command.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                             help="set a parameter of the cell tagged `parameters` "
                                  "(e.g. ABLATE=True); repeatable")
    command = commands.add_parser("student", help="write student versions of notebooks")
    command.add_argument("source", help="a solution notebook or a folder of them")
    command.add_argument("destination", help="output notebook or folder (not inside the source)")
    arguments = parser.parse_args(argv)
    if arguments.command == "student":
        try:
            written = student.write_student_versions(arguments.source, arguments.destination)
        except ValueError as error:
            sys.exit(f"{error}\nNothing was written.")
        for path in written:
            print(f"wrote {path}")
        return 0
    return _run_folder(arguments)


def _run_folder(arguments):
    root = Path(arguments.root)
    folder = root / arguments.command
    if not folder.is_dir():
        sys.exit(f"No {arguments.command}/ folder under {root.resolve()}: "
                 "run from the repository root or pass --root.")
    try:
        paths = notebooks.find_notebooks(folder, arguments.names)
        parameters = notebooks.parse_parameters(arguments.param)
    except ValueError as error:
        sys.exit(str(error))
    output_folder = root / "build" / arguments.command
    try:
        results = notebooks.run_notebooks(paths, output_folder, arguments.inplace,
                                          arguments.cell_timeout, parameters)
    except ValueError as error:
        sys.exit(str(error))
    print((output_folder / "summary.md").read_text())
    print(f"Executed notebooks and summary: {output_folder}/")
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
