#!/bin/sh
# rootlet's command. Node reads NODE_EXTRA_CA_CERTS at every start (~60 ms
# here); rootlet needs extra CAs only when it opens a TLS connection, so the
# variable is handed over as ROOTLET_EXTRA_CA_CERTS instead.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  ROOTLET_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS
  export ROOTLET_EXTRA_CA_CERTS
  unset NODE_EXTRA_CA_CERTS
fi
# "--": Node 20 takes a --env-file anywhere on its command line as its own
# (run --env-file FILE would load FILE into rootlet's environment).
exec node -- "@ENTRY@" "$@"
