// An ECharts chart in an element: made when the component mounts, drawn again from `option`
// whenever what it reads changes, resized with the window, disposed with the component. Only the
// chart types the console draws are registered (bars and lines on a canvas).
import { onBeforeUnmount, onMounted, watch, type Ref } from "vue";
import * as echarts from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export function useChart(el: Ref<HTMLElement | undefined>, option: () => echarts.EChartsCoreOption) {
  let chart: echarts.ECharts | undefined;
  const draw = () => chart?.setOption(option(), true);
  const resize = () => chart?.resize();
  onMounted(() => {
    if (!el.value) return;
    chart = echarts.init(el.value);
    draw();
    window.addEventListener("resize", resize);
  });
  watch(option, draw);
  onBeforeUnmount(() => {
    window.removeEventListener("resize", resize);
    chart?.dispose();
  });
}
