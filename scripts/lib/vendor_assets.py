"""Copy the front-end files the app serves from node_modules/ into static/vendor/.

Only the files the pages use are copied, keeping each package's own folder layout so that
relative URLs inside stylesheets (Leaflet's images, Font Awesome's webfonts) keep working.
"""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "static" / "vendor"

# package folder -> paths inside it (files or whole folders)
WANTED = {
    "leaflet": ["dist/leaflet.js", "dist/leaflet.css", "dist/images", "LICENSE"],
    "leaflet.awesome-markers": [
        "dist/leaflet.awesome-markers.js",
        "dist/leaflet.awesome-markers.css",
        "dist/images",
        "LICENSE",
    ],
    "leaflet.markercluster": [
        "dist/leaflet.markercluster.js",
        "dist/MarkerCluster.css",
        "dist/MarkerCluster.Default.css",
        "MIT-LICENCE.txt",
    ],
    "bootstrap": ["dist/css/bootstrap.min.css", "dist/js/bootstrap.bundle.min.js", "LICENSE"],
    "@fortawesome/fontawesome-free": ["css/all.min.css", "webfonts", "LICENSE.txt"],
    # Drawing and editing a context's area on the register's form (static/js/area_draw.js).
    "@geoman-io/leaflet-geoman-free": ["dist/leaflet-geoman.min.js", "dist/leaflet-geoman.css", "LICENSE"],
}


def main() -> None:
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    for package, paths in WANTED.items():
        for relative in paths:
            source = NODE_MODULES / package / relative
            target = VENDOR / package / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
    print(f"front-end assets copied to {VENDOR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
