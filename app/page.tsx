import { HomeView } from "./_components/home-view";

export default function Home() {
  return <HomeView />;
}
