/** The proxy's routes, in memory: /user/<safe name>/<server>/ → the server's URL. Rebuilt from the database at start. */
import type { ServerRecord } from './store.ts';

export interface ProxyRoute {
  serverId: number;
  userId: number;
  ownerSafeName: string;
  serverName: string;
  /** The server's image (which says whether it signs users in through the hub). */
  image: string;
  url: string;
  startedAt: Date;
  /**
   * The Authorization header the proxy sends upstream, computed once when the route is set;
   * null for a server that signs users in through the hub (jupyterhub-singleuser): the proxy
   * then passes on the caller's hub token, which that server checks with the hub.
   */
  authorization: string | null;
}

export class RouteTable {
  private readonly byPath = new Map<string, ProxyRoute>();
  private readonly byId = new Map<number, string>();

  constructor(
    private readonly secretFor: (server: { id: number; startedAt: Date }) => string,
    private readonly signsInThroughHub: (image: string) => boolean = () => false,
  ) {}

  set(
    server: Pick<
      ServerRecord,
      'id' | 'userId' | 'ownerSafeName' | 'name' | 'url' | 'startedAt' | 'image'
    >,
  ): void {
    if (!server.url) return;
    const key = `${server.ownerSafeName}/${server.name}`;
    this.byPath.set(key, {
      serverId: server.id,
      userId: server.userId,
      ownerSafeName: server.ownerSafeName,
      serverName: server.name,
      image: server.image,
      url: server.url,
      startedAt: new Date(server.startedAt),
      authorization: this.signsInThroughHub(server.image)
        ? null
        : `token ${this.secretFor({ id: server.id, startedAt: new Date(server.startedAt) })}`,
    });
    this.byId.set(server.id, key);
  }

  delete(serverId: number): void {
    const key = this.byId.get(serverId);
    if (key === undefined) return;
    this.byId.delete(serverId);
    if (this.byPath.get(key)?.serverId === serverId) this.byPath.delete(key);
  }

  /** Drop every route of one user (an account being deleted). */
  deleteUser(userId: number): void {
    for (const [key, route] of this.byPath) {
      if (route.userId !== userId) continue;
      this.byPath.delete(key);
      this.byId.delete(route.serverId);
    }
  }

  lookup(ownerSafeName: string, serverName: string): ProxyRoute | undefined {
    return this.byPath.get(`${ownerSafeName}/${serverName}`);
  }

  get size(): number {
    return this.byPath.size;
  }
}
