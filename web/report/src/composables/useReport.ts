// The report being written and its submission: the draft lives in IndexedDB from the first
// change, the Idempotency-Key is the draft's, and a failed network is waited out.
import { computed, reactive, ref, toRaw, watch } from "vue";
import { accountApi, api, messageOf, must, session, uploadPhoto, type CaseAuth, type Schemas } from "../lib/api";
import {
  clearDraft,
  loadDraft,
  newDraft,
  openStore,
  photoToStored,
  rememberReport,
  saveDraft,
  storedToBlob,
  type Draft,
} from "../lib/draft";
import { compressPhoto, PhotoRefused } from "../lib/compress";
import { HttpError, withRetry } from "../lib/retry";
import { t } from "../i18n";

export const MAX_PHOTOS = 3;

export type Phase = "editing" | "sending" | "waiting" | "done" | "failed";

export function useReport(communityCode: string | undefined) {
  const store = openStore();
  const draft = reactive<Draft>(newDraft(communityCode));
  const phase = ref<Phase>("editing");
  const progress = ref("");
  const failure = ref("");
  const resumed = ref(false);
  const created = ref<Schemas["CaseDto"]>();
  const photoUrls = ref<string[]>([]);

  function refreshPhotoUrls() {
    photoUrls.value.forEach((u) => URL.revokeObjectURL(u));
    photoUrls.value = draft.photos.map((p) => URL.createObjectURL(storedToBlob(p)));
  }

  // Saved at most about once a second while typing (FixMyStreet does the same).
  let timer: ReturnType<typeof setTimeout> | undefined;
  function persistSoon() {
    clearTimeout(timer);
    timer = setTimeout(() => void saveDraft(toRaw(draft), store), 500);
  }
  async function persistNow() {
    clearTimeout(timer);
    await saveDraft(toRaw(draft), store);
  }

  async function restore() {
    const old = await loadDraft(store);
    if (!old) return;
    if (communityCode && old.community && old.community !== communityCode && old.state === "editing") return;
    Object.assign(draft, old);
    resumed.value =
      old.state !== "editing" || old.photos.length > 0 || old.description.length > 0 || Boolean(old.category);
    refreshPhotoUrls();
    // A submission that was cut off goes on by itself.
    if (old.state !== "editing") void submit();
  }

  async function discard() {
    Object.assign(draft, newDraft(communityCode));
    resumed.value = false;
    refreshPhotoUrls();
    await clearDraft(store);
  }

  watch(
    () => [draft.description, draft.reporterName, draft.reporterPhone, draft.category, draft.attributes],
    persistSoon,
    { deep: true },
  );

  /** Adds a chosen photo after shrinking it; returns the message key when refused. */
  async function addPhoto(file: File): Promise<string | undefined> {
    if (draft.photos.length >= MAX_PHOTOS) return undefined;
    try {
      const small = await compressPhoto(file);
      draft.photos.push(await photoToStored(small));
      refreshPhotoUrls();
      await persistNow();
      return undefined;
    } catch (e) {
      if (e instanceof PhotoRefused) return `photo.${e.reason}`;
      throw e;
    }
  }

  async function removePhoto(i: number) {
    draft.photos.splice(i, 1);
    refreshPhotoUrls();
    await persistNow();
  }

  async function setPoint(lat: number, lon: number) {
    draft.point = { lat, lon };
    draft.placeId = undefined;
    draft.placeName = undefined;
    await persistNow();
  }

  async function setPlace(place: Schemas["PlaceDto"]) {
    draft.point = undefined;
    draft.placeId = place.id;
    draft.placeName = place.name;
    await persistNow();
  }

  /** The server says whether a point is inside the city (404 outside_city otherwise). */
  async function checkInside(lat: number, lon: number): Promise<boolean> {
    try {
      await must(api.GET("/api/v1/locate", { params: { query: { lat, lon } } }));
      return true;
    } catch (e) {
      if (e instanceof HttpError && (e.status === 404 || e.status === 422)) return false;
      throw e;
    }
  }

  const canSubmit = computed(
    () => phase.value !== "sending" && phase.value !== "waiting" && phase.value !== "done",
  );

  function onRetry() {
    phase.value = "waiting";
    progress.value = t("submit.offline");
  }

  async function createCase(): Promise<void> {
    // A report started signed in goes on as that account; if the session has ended meanwhile,
    // it is sent anonymously under a new key (the account's key would find nothing of it).
    const asAccount = draft.accountId !== undefined && session.current?.account.id === draft.accountId;
    if (draft.accountId !== undefined && !asAccount) {
      draft.accountId = undefined;
      draft.idempotencyKey = newDraft().idempotencyKey;
      await persistNow();
    }
    const client = asAccount ? accountApi : api;
    const body: Schemas["NewCaseRequest"] = {
      category: draft.category ?? "",
      description: draft.description.trim(),
      // The schema says "object"; the answers are the category's typed values.
      attributes: { ...draft.attributes } as unknown as Schemas["NewCaseRequest"]["attributes"],
      ...(draft.point ? { lat: draft.point.lat, lon: draft.point.lon, crs: "wgs84" } : {}),
      ...(draft.placeId !== undefined ? { place_id: draft.placeId, address: draft.placeName } : {}),
      // Signed in, the account is the contact.
      ...(!asAccount && draft.reporterName.trim() ? { reporter_name: draft.reporterName.trim() } : {}),
      ...(!asAccount && draft.reporterPhone.trim() ? { reporter_phone: draft.reporterPhone.trim() } : {}),
    };
    const dto = await withRetry(
      () =>
        must(
          client.POST("/api/v1/cases", {
            body,
            params: { header: { "Idempotency-Key": draft.idempotencyKey } },
          }),
        ),
      { onRetry },
    );
    created.value = dto;
    draft.caseId = dto.id;
    draft.caseNumber = dto.number;
    // The same key answers with the same case, token included, so a lost answer costs nothing.
    draft.trackingToken = dto.tracking_token ?? draft.trackingToken;
    draft.state = "created";
    await persistNow();
  }

  async function uploadPhotos(): Promise<void> {
    const id = draft.caseId;
    const auth: CaseAuth | undefined = draft.trackingToken
      ? { token: draft.trackingToken }
      : draft.accountId !== undefined
        ? { account: true }
        : undefined;
    if (id === undefined || !auth) return;
    while (draft.photos.length > 0) {
      const photo = draft.photos[0];
      if (!photo) break;
      progress.value = t("submit.photos", { n: 1, total: draft.photos.length });
      await withRetry(() => uploadPhoto(id, auth, storedToBlob(photo)), { onRetry });
      draft.photos.shift();
      await persistNow();
    }
  }

  async function submit(): Promise<void> {
    failure.value = "";
    phase.value = "sending";
    progress.value = t("submit.sending");
    if (draft.state === "editing") {
      draft.state = "submitting";
      draft.accountId = session.current?.account.id;
      await persistNow();
    }
    try {
      if (draft.state === "submitting") await createCase();
      await uploadPhotos();
      if (draft.caseId !== undefined && draft.caseNumber && draft.trackingToken) {
        await rememberReport(
          { id: draft.caseId, number: draft.caseNumber, token: draft.trackingToken, at: new Date().toISOString() },
          store,
        );
      }
      phase.value = "done";
      await clearDraft(store);
    } catch (e) {
      // A refusal (wrong input): back to editing with the server's words, the key kept only
      // if the case does not exist yet (a changed report is a new request).
      phase.value = "failed";
      failure.value = t("submit.failed", { msg: messageOf(e, t("error.network")) });
      if (draft.state === "submitting") {
        draft.state = "editing";
        draft.idempotencyKey = newDraft().idempotencyKey;
      }
      await persistNow();
    }
  }

  return {
    draft,
    phase,
    progress,
    failure,
    resumed,
    created,
    photoUrls,
    canSubmit,
    restore,
    discard,
    addPhoto,
    removePhoto,
    setPoint,
    setPlace,
    checkInside,
    submit,
  };
}
