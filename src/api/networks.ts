import { networkDoc } from '../docker/network.js';
import { volumeDoc } from '../docker/volume.js';
import { Fields } from './create-body.js';
import { badRequest, filtersParam, noContent, readJson, sendJson } from './http.js';
import type { Router } from './router.js';

/** /networks/... and /volumes/...: the engine's network and volume services, in Docker's documents. */
export function networkRoutes(r: Router): void {
  r.add('GET', '/networks', async (c) => {
    sendJson(c.res, 200, (await c.svc.networks.list({ filters: filtersParam(c.query) })).map(networkDoc));
  });
  r.add('GET', '/networks/{id}', async (c) => {
    sendJson(c.res, 200, networkDoc(await c.svc.networks.inspect(c.params.id!)));
  });
  r.add('POST', '/networks/create', async (c) => {
    const b = new Fields(await readJson(c.req), '');
    const name = b.str('Name');
    if (!name) throw badRequest('invalid Name: the network\'s name is required');
    const ipam = b.obj('IPAM')?.list('Config')?.[0];
    const subnet = ipam?.str('Subnet');
    const gateway = ipam?.str('Gateway');
    const labels = b.map('Labels');
    const n = await c.svc.networks.create({
      name,
      ...(subnet ? { subnet } : {}),
      ...(gateway ? { gateway } : {}),
      internal: !!b.bool('Internal'),
      ...(labels ? { labels } : {}),
      ...(b.str('Driver') ? { driver: b.str('Driver')! } : {}),
    });
    sendJson(c.res, 201, { Id: n.id, Warning: '' });
  });
  r.add('DELETE', '/networks/{id}', async (c) => {
    await c.svc.networks.remove(c.params.id!);
    noContent(c.res);
  });
  r.add('POST', '/networks/prune', async (c) => {
    const { deleted } = await c.svc.networks.prune({ filters: filtersParam(c.query) });
    sendJson(c.res, 200, { NetworksDeleted: deleted });
  });
  r.add('POST', '/networks/{id}/connect', async (c) => {
    const b = new Fields(await readJson(c.req), '');
    const container = b.str('Container');
    if (!container) throw badRequest('invalid Container: the container to connect is required');
    const aliases = b.obj('EndpointConfig')?.strs('Aliases');
    await c.svc.networks.connect(c.params.id!, container, aliases ? { aliases } : {});
    noContent(c.res, 200);
  });
  r.add('POST', '/networks/{id}/disconnect', async (c) => {
    const b = new Fields(await readJson(c.req), '');
    const container = b.str('Container');
    if (!container) throw badRequest('invalid Container: the container to disconnect is required');
    await c.svc.networks.disconnect(c.params.id!, container, { force: !!b.bool('Force') });
    noContent(c.res, 200);
  });

  r.add('GET', '/volumes', async (c) => {
    const list = await c.svc.volumes.list({ filters: filtersParam(c.query) });
    sendJson(c.res, 200, { Volumes: list.map(volumeDoc), Warnings: [] });
  });
  r.add('POST', '/volumes/create', async (c) => {
    const b = new Fields(await readJson(c.req), '');
    const name = b.str('Name');
    const labels = b.map('Labels');
    const options = b.map('DriverOpts');
    const driver = b.str('Driver');
    if (driver && driver !== 'local') throw badRequest(`volume driver ${JSON.stringify(driver)} is not supported: only local`);
    const v = await c.svc.volumes.create({ ...(name ? { name } : {}), ...(labels ? { labels } : {}), ...(options ? { options } : {}) });
    sendJson(c.res, 201, volumeDoc(v));
  });
  r.add('GET', '/volumes/{name}', async (c) => {
    sendJson(c.res, 200, volumeDoc(await c.svc.volumes.inspect(c.params.name!)));
  });
  r.add('DELETE', '/volumes/{name}', async (c) => {
    const force = c.query.get('force');
    await c.svc.volumes.remove(c.params.name!, { force: force === '1' || force === 'true' });
    noContent(c.res);
  });
  r.add('POST', '/volumes/prune', async (c) => {
    const filters = filtersParam(c.query);
    const r2 = await c.svc.volumes.prune({ filters });
    sendJson(c.res, 200, { VolumesDeleted: r2?.deleted ?? [], SpaceReclaimed: r2?.spaceReclaimed ?? 0 });
  });
}
