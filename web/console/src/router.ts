// The console's pages, each loaded when first opened. `meta.roles` decides which menus a role
// sees; the server still decides every request (a page opened by URL shows its refusal).
import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import { signedIn } from "./lib/api";

export type Role = "officer" | "leader" | "dispatcher" | "admin" | "partner" | "resident";

declare module "vue-router" {
  interface RouteMeta {
    roles?: Role[];
    menu?:
      | "menu.queue"
      | "menu.logs"
      | "menu.merchants"
      | "menu.cases"
      | "menu.dashboard"
      | "menu.sources"
      | "menu.calendar"
      | "menu.accounts"
      | "menu.outbox"
      | "menu.places"
      | "menu.keys"
      | "menu.sla"
      | "menu.categories"
      | "menu.stationings";
    public?: boolean;
  }
}

export const routes: RouteRecordRaw[] = [
  { path: "/login", component: () => import("./pages/LoginPage.vue"), meta: { public: true } },
  {
    path: "/",
    component: () => import("./pages/ShellLayout.vue"),
    children: [
      { path: "", redirect: () => (signedIn.value ? home(signedIn.value.account.role as Role) : "/login") },
      {
        path: "queue",
        component: () => import("./pages/QueuePage.vue"),
        meta: { roles: ["officer", "leader", "partner"], menu: "menu.queue" },
      },
      {
        path: "logs",
        component: () => import("./pages/WorkLogsPage.vue"),
        meta: { roles: ["officer", "leader"], menu: "menu.logs" },
      },
      {
        path: "merchants",
        component: () => import("./pages/MerchantsPage.vue"),
        meta: { roles: ["officer", "leader"], menu: "menu.merchants" },
      },
      {
        path: "merchants/:id(\\d+)",
        component: () => import("./pages/MerchantPage.vue"),
        meta: { roles: ["officer", "leader", "dispatcher"] },
      },
      {
        path: "cases",
        component: () => import("./pages/CasesPage.vue"),
        meta: { roles: ["dispatcher", "leader"], menu: "menu.cases" },
      },
      {
        path: "dashboard",
        component: () => import("./pages/DashboardPage.vue"),
        meta: { roles: ["leader", "dispatcher", "admin"], menu: "menu.dashboard" },
      },
      {
        path: "sources",
        component: () => import("./pages/SourcesPage.vue"),
        meta: { roles: ["leader", "dispatcher"], menu: "menu.sources" },
      },
      {
        path: "stationings",
        component: () => import("./pages/StationingsPage.vue"),
        meta: { roles: ["leader"], menu: "menu.stationings" },
      },
      {
        path: "accounts",
        component: () => import("./pages/AccountsPage.vue"),
        meta: { roles: ["admin"], menu: "menu.accounts" },
      },
      {
        path: "outbox",
        component: () => import("./pages/OutboxPage.vue"),
        meta: { roles: ["admin"], menu: "menu.outbox" },
      },
      {
        path: "places",
        component: () => import("./pages/AddressBookPage.vue"),
        meta: { roles: ["admin"], menu: "menu.places" },
      },
      {
        path: "api-keys",
        component: () => import("./pages/ApiKeysPage.vue"),
        meta: { roles: ["admin"], menu: "menu.keys" },
      },
      {
        path: "categories",
        component: () => import("./pages/CategoriesPage.vue"),
        meta: { roles: ["admin"], menu: "menu.categories" },
      },
      {
        path: "sla",
        component: () => import("./pages/SlaPage.vue"),
        meta: { roles: ["admin"], menu: "menu.sla" },
      },
      {
        path: "calendar",
        component: () => import("./pages/CalendarPage.vue"),
        meta: { roles: ["admin"], menu: "menu.calendar" },
      },
      {
        path: "cases/:id(\\d+)",
        component: () => import("./pages/CasePage.vue"),
        meta: { roles: ["officer", "leader", "dispatcher", "partner"] },
      },
      { path: ":rest(.*)*", component: () => import("./pages/NotFoundPage.vue") },
    ],
  },
];

/** Where a role starts: the officer's queue, the command centre's list, the admin's pages. */
export function home(role: Role | undefined): string {
  if (role === "dispatcher") return "/cases";
  if (role === "admin") return "/calendar";
  return "/queue";
}

export const router = createRouter({ history: createWebHistory("/console/"), routes });

router.beforeEach((to) => {
  if (to.meta.public) return true;
  if (!signedIn.value) return { path: "/login", query: { next: to.fullPath } };
  // A page of another role's menu opens that role's start instead; the server still decides
  // every request the pages make.
  const role = signedIn.value.account.role as Role;
  if (to.meta.roles && !to.meta.roles.includes(role)) return home(role);
  return true;
});
