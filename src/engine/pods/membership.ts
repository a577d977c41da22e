/** The namespaces a pod's containers can share with its infra process. */
export type PodShare = 'net' | 'ipc' | 'uts';
export const POD_SHARES: PodShare[] = ['net', 'ipc', 'uts'];

/** What a member container's spec keeps of its pod: the namespaces it joins are the infra's. */
export interface PodMembership {
  id: string;
  infra: string;
  share: PodShare[];
}
