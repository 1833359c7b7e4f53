// The community the QR code names: its contact card (officers, hours, hotline) and its grids.
import { ref } from "vue";
import { api, must, type Schemas } from "../lib/api";

export function useCommunity() {
  const card = ref<Schemas["ContactCardDto"]>();
  const community = ref<Schemas["CommunityDto"]>();
  const grids = ref<Schemas["GridDto"][]>([]);
  const error = ref<unknown>();

  async function findByCode(code: string): Promise<Schemas["CommunityDto"] | undefined> {
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const res = await must(api.GET("/api/v1/communities", { params: { query: { limit: 200, cursor } } }));
      const hit = res.items.find((c) => c.code === code);
      if (hit) return hit;
      if (!res.next_cursor) return undefined;
      cursor = res.next_cursor;
    }
    return undefined;
  }

  async function load(code: string) {
    try {
      const found = await findByCode(code);
      if (!found) return;
      community.value = found;
      const [c, g] = await Promise.all([
        must(api.GET("/api/v1/communities/{id}/contact-card", { params: { path: { id: found.id } } })),
        must(api.GET("/api/v1/grids", { params: { query: { community_id: found.id } } })),
      ]);
      card.value = c;
      grids.value = g;
    } catch (e) {
      error.value = e;
    }
  }

  return { card, community, grids, error, load };
}
