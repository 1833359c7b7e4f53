// The console's pages, each loaded when first opened. `meta.roles` decides which menus a role
// sees; the server still decides every request (a page opened by URL shows its refusal).
import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import { signedIn } from "./lib/api";

export type Role = "officer" | "leader" | "dispatcher" | "admin" | "partner" | "resident";

declare module "vue-router" {
  interface RouteMeta {
    roles?: Role[];
    menu?: "menu.queue" | "menu.cases";
    public?: boolean;
  }
}

const STAFF: Role[] = ["officer", "leader", "dispatcher", "admin", "partner"];

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
        path: "cases",
        component: () => import("./pages/CasesPage.vue"),
        meta: { roles: ["dispatcher", "leader", "admin"], menu: "menu.cases" },
      },
      { path: "cases/:id(\\d+)", component: () => import("./pages/CasePage.vue"), meta: { roles: STAFF } },
      { path: ":rest(.*)*", component: () => import("./pages/NotFoundPage.vue") },
    ],
  },
];

/** Where a role starts: its queue or the command centre's list. */
export function home(role: Role | undefined): string {
  return role === "dispatcher" || role === "admin" ? "/cases" : "/queue";
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
