import { FlowView } from "../../_components/flow-view";

export default async function FlowPage({ params }: { params: Promise<{ flowId: string }> }) {
  const { flowId } = await params;
  return <FlowView flowId={decodeURIComponent(flowId)} />;
}
