// W2: the classic 10 ms async task. Returns its input (the caller checks the sum).
export default async function sleep10(data) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return data;
}
