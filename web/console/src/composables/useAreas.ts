// The city's districts, streets and communities, read once per page, for naming a jurisdiction
// and for choosing one: officers and partners act in communities, leaders in streets or districts.
import { computed, onMounted, ref } from "vue";
import { api, must, signedIn, type Schemas } from "../lib/api";

export type Area = Schemas["AreaDto"];

export function useAreas() {
  const districts = ref<Schemas["DistrictDto"][]>([]);
  const streets = ref<Schemas["StreetDto"][]>([]);
  const communities = ref<Schemas["CommunityDto"][]>([]);

  onMounted(async () => {
    const [d, s, c] = await Promise.all([
      must(api.GET("/api/v1/districts")).catch(() => []),
      must(api.GET("/api/v1/streets", { params: { query: {} } })).catch(() => []),
      must(api.GET("/api/v1/communities", { params: { query: { limit: 200 } } })).catch(() => undefined),
    ]);
    districts.value = d;
    streets.value = s;
    communities.value = c?.items ?? [];
  });

  const names = computed(() => {
    const m = new Map<string, string>();
    districts.value.forEach((d) => m.set(`district:${d.id}`, d.name));
    streets.value.forEach((s) => m.set(`street:${s.id}`, s.name));
    communities.value.forEach((c) => m.set(`community:${c.id}`, c.name));
    return m;
  });
  /** The communities of the signed-in account's jurisdiction (all of them for a city-wide role). */
  const own = computed(() => {
    const mine = new Set(
      (signedIn.value?.account.jurisdiction ?? []).filter((a) => a.level === "community").map((a) => a.id),
    );
    return mine.size ? communities.value.filter((c) => mine.has(c.id)) : communities.value;
  });
  const nameOf = (a: Area) => names.value.get(`${a.level}:${a.id}`) ?? `${a.level} ${a.id}`;

  /** What a role's jurisdiction is made of, as options `level:id`. */
  function choicesFor(role: string): { value: string; label: string }[] {
    if (role === "officer" || role === "partner") {
      return communities.value.map((c) => ({ value: `community:${c.id}`, label: c.name }));
    }
    if (role === "leader") {
      return [
        ...districts.value.map((d) => ({ value: `district:${d.id}`, label: d.name })),
        ...streets.value.map((s) => ({ value: `street:${s.id}`, label: s.name })),
      ];
    }
    return [];
  }

  return { districts, streets, communities, own, nameOf, choicesFor };
}

export const toValue = (a: Area) => `${a.level}:${a.id}`;
export function toArea(value: string): Area {
  const [level, id] = value.split(":");
  return { level: level!, id: Number(id) };
}
