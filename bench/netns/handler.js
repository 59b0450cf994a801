// The netns bench's handler: returns its input (a number for no-op tasks, 64 KiB of bytes for
// the large ones, which therefore cross the link both ways).
export default function echo(data) {
  return data;
}
