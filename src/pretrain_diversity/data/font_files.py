"""Which font files make the font source: the files of the listed Debian packages, or the folders
a user names in ``$PRETRAIN_DIVERSITY_FONT_DIRS``.

The default is defined by packages, not by folders, so that a face another package drops into
/usr/share/fonts (a browser install pulls in fonts-liberation) cannot move the bank and its face
split under a running study.
"""

from __future__ import annotations

import os
from pathlib import Path

FONT_DIRS_ENV = "PRETRAIN_DIVERSITY_FONT_DIRS"
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
INSTALL_HINT = (
    "install the Debian font packages with scripts/ensure-data (as root), e.g. "
    "apt-get install fonts-dejavu-core fonts-urw-base35 fonts-arphic-ukai fonts-ipafont-gothic, "
    f"or point ${FONT_DIRS_ENV} at folders holding .ttf/.otf/.ttc files"
)


class FontsNotFound(FileNotFoundError):
    """No usable font faces where the package looks; the message says what to install."""


PACKAGE_LIST = Path(__file__).with_name("font-packages.txt")


def font_packages(section: str = "default") -> list[str]:
    """The Debian packages whose files make the font source (``font-packages.txt``)."""
    out, on = [], False
    for line in PACKAGE_LIST.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            on = line == f"[{section}]"
        elif on:
            out.append(line)
    return out


def font_dirs() -> list[Path] | None:
    """The folders of ``$PRETRAIN_DIVERSITY_FONT_DIRS``, or None: the default source is the files
    of the listed packages, not whatever a font folder happens to hold."""
    env = os.environ.get(FONT_DIRS_ENV)
    if env is None:
        return None
    return [Path(d).expanduser() for d in env.split(os.pathsep) if d]


def package_font_files(packages: list[str] | None = None) -> list[Path]:
    """The font files the listed Debian packages installed (``dpkg-query -L``), each once.

    Raises FontsNotFound naming the packages that are not installed: a partial set would be
    another source, silently."""
    import subprocess

    packages = packages or font_packages()
    try:
        status = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Status}\n", *packages],
                                capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise FontsNotFound(
            f"dpkg-query not found: the font source is the files of Debian packages "
            f"({PACKAGE_LIST.name}); on another system point ${FONT_DIRS_ENV} at font folders"
        ) from None
    installed = {ln.split()[0] for ln in status.stdout.splitlines() if "install ok installed" in ln}
    missing = [p for p in packages if p not in installed]
    if missing:
        raise FontsNotFound(f"font packages not installed: {' '.join(missing)}; {INSTALL_HINT}")
    listed = subprocess.run(["dpkg-query", "-L", *packages], capture_output=True, text=True,
                            timeout=60, check=True).stdout.split("\n")
    seen = {str(Path(f).resolve()) for f in listed
            if Path(f).suffix.lower() in FONT_SUFFIXES and Path(f).is_file()}
    return [Path(f) for f in sorted(seen)]


def font_files(dirs: list[Path] | None = None) -> list[Path]:
    """Font files under ``dirs``, each once (links such as Debian's alternatives are resolved);
    with no folders given, the files of the listed packages (``package_font_files``)."""
    if dirs is None:
        dirs = font_dirs()
    if dirs is None:
        return package_font_files()
    seen: dict[str, Path] = {}
    for d in dirs:
        if not d.is_dir():
            continue
        for p in d.rglob("*"):
            if p.suffix.lower() in FONT_SUFFIXES and p.is_file():
                seen.setdefault(str(p.resolve()), p.resolve())
    return [seen[k] for k in sorted(seen)]
