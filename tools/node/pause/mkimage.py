"""Pack one static binary into a docker-archive tarball (what `docker save` writes; `ctr images import` reads it).

Usage: python3 mkimage.py BINARY IMAGE_REF OUT.tar [NAME_IN_IMAGE [USER]]
The image has one layer (the binary at /NAME_IN_IMAGE, default /pause, its entrypoint; a NAME_IN_IMAGE with slashes,
such as bin/prometheus, gets its directories too), runs as USER (default 65535:65535, like upstream's pause image),
and is reproducible
(fixed mtimes, sorted entries), so the same pause.c gives the same image id.
"""

import hashlib
import io
import json
import sys
import tarfile


def main() -> None:
    binary, ref, out = sys.argv[1:4]
    name = sys.argv[4] if len(sys.argv) > 4 else "pause"
    user = sys.argv[5] if len(sys.argv) > 5 else "65535:65535"
    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w", format=tarfile.USTAR_FORMAT) as layer:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            directory = tarfile.TarInfo("/".join(parts[:depth]))
            directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, 0
            layer.addfile(directory)
        with open(binary, "rb") as f:
            data = f.read()
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o755, 0
        layer.addfile(info, io.BytesIO(data))
    layer_bytes = layer_buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Entrypoint": [f"/{name}"], "User": user, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": f"tools/node/pause/mkimage.py {name}"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.split(":")[1] + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": [ref], "Layers": [layer_name]}]
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, payload in (
            (config_name, config_bytes),
            (layer_name, layer_bytes),
            ("manifest.json", json.dumps(manifest).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(payload), 0o644, 0
            tar.addfile(info, io.BytesIO(payload))
    print(config_name.removesuffix(".json"))


if __name__ == "__main__":
    main()
