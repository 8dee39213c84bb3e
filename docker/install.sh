#!/bin/sh
# The image's dependency installs, shared by the Dockerfile and docker/check_install.sh
# so that CI runs exactly the commands the image build runs.
#
#   docker/install.sh torch                 # pip install "$TORCH_SPEC" [--index-url "$TORCH_INDEX"]
#   docker/install.sh deps pyproject.toml   # everything else pyproject.toml lists (+ postgres)
#
# Uses whichever `pip` / `python` come first on PATH (the image's /opt/venv).
set -eu

TORCH_SPEC="${TORCH_SPEC:-torch>=2.2,<3}"
TORCH_INDEX="${TORCH_INDEX:-}"
here="$(cd "$(dirname "$0")" && pwd)"

case "${1:-}" in
torch)
    # Empty TORCH_INDEX: PyPI, whose Linux x86_64 wheel carries CUDA (GPU when the
    # container has one, CPU otherwise). https://download.pytorch.org/whl/cpu: CPU only.
    if [ -n "$TORCH_INDEX" ]; then
        pip install --index-url "$TORCH_INDEX" "$TORCH_SPEC"
    else
        pip install "$TORCH_SPEC"
    fi
    ;;
deps)
    pyproject="${2:?usage: install.sh deps path/to/pyproject.toml}"
    requirements="$(mktemp)"
    python "$here/requirements.py" "$pyproject" --extra postgres >"$requirements"
    pip install -r "$requirements"
    rm -f "$requirements"
    ;;
*)
    echo "usage: $0 torch | deps path/to/pyproject.toml" >&2
    exit 2
    ;;
esac
