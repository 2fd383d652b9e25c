// Reads a duty post's QR code with the phone camera: BarcodeDetector on a getUserMedia stream
// where the browser has both; the caller offers manual entry of the code otherwise.

const SCAN_EVERY_MS = 250;

/** True if this browser can scan QR codes from the camera. */
export function canScan() {
  return "BarcodeDetector" in window && Boolean(navigator.mediaDevices?.getUserMedia);
}

/** The post token inside a scanned text: the text itself, or a `token`/`t` parameter of a URL. */
export function tokenOf(text) {
  const value = String(text ?? "").trim();
  try {
    const url = new URL(value);
    return url.searchParams.get("token") ?? url.searchParams.get("t") ?? value;
  } catch {
    return value;
  }
}

/**
 * Start scanning into `video`; calls `onCode(text)` once with the first QR code seen.
 * Returns a function that stops the camera. Throws when the camera cannot be opened.
 */
export async function startScanner(video, onCode) {
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  video.srcObject = stream;
  await video.play();
  let stopped = false;
  let timer = null;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  const look = async () => {
    if (stopped) return;
    try {
      const codes = await detector.detect(video);
      if (codes.length && !stopped) {
        stop();
        onCode(codes[0].rawValue);
        return;
      }
    } catch (error) {
      console.warn("scanner: detection failed on a frame", error);
    }
    timer = setTimeout(look, SCAN_EVERY_MS);
  };
  look();
  return stop;
}
