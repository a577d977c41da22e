/** The network every container joins unless told otherwise (Podman's "podman", Docker's "bridge"). */
export const DEFAULT_NETWORK = 'rootlet';
export const DEFAULT_SUBNET = '10.88.0.0/16';
/** Names that mean the default network, as Docker and Podman users type them. */
export const DEFAULT_ALIASES = new Set(['bridge', 'default', DEFAULT_NETWORK]);
