import { monitoringBench } from "./monitoring";
await monitoringBench();
