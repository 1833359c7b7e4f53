import { createApp } from "vue";
// The Vant components' own style sheets, without Vant's icon font (45 KB of embedded font): the
// page draws its few symbols itself, which keeps the first load well inside its budget.
import "vant/es/style/base.css";
import "vant/es/badge/index.css";
import "vant/es/loading/index.css";
import "vant/es/overlay/index.css";
import "vant/es/popup/index.css";
import "vant/es/action-sheet/index.css";
import "vant/es/button/index.css";
import "vant/es/cell/index.css";
import "vant/es/cell-group/index.css";
import "vant/es/field/index.css";
import "vant/es/notice-bar/index.css";
import "vant/es/checkbox/index.css";
import "vant/es/radio-group/index.css";
import "vant/es/radio/index.css";
import "vant/es/steps/index.css";
import "vant/es/step/index.css";
import "vant/es/toast/index.css";
import App from "./App.vue";

createApp(App).mount("#app");
