#!/usr/bin/env bash
# The spelling dictionary the realism figures judge Arabic samples with (Debian's
# Hunspell dictionary, read through Enchant by pyenchant). Idempotent: installs only
# what is missing. Without it the figures fall back to words seen in training and say so.
set -euo pipefail
if [ -f /usr/share/hunspell/ar.dic ] && ldconfig -p 2>/dev/null | grep -q 'libenchant-2\.so'; then
    echo "dictionary: hunspell-ar and Enchant already installed"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq hunspell-ar libenchant-2-2 >/dev/null
echo "dictionary: installed hunspell-ar and Enchant"
