/**
 * The demo page: chat, speech recognition, captioning (images and video clips), spoken QA, slot filling, text classification and grapheme-to-phoneme, each computed in
 * the page (onnxruntime-web, through clients/web) or by the server's HTTP APIs.
 */
import * as ort from 'onnxruntime-web/wasm';
import { loadWebModel, decodeAudioFile } from '../clients/web/seqserve-web.ts';
import { captionView } from './views/caption-view.ts';
import { chatView } from './views/chat-view.ts';
import { classifyView } from './views/classify-view.ts';
import { g2pView } from './views/g2p-view.ts';
import { qaView } from './views/qa-view.ts';
import { slotsView } from './views/slots-view.ts';
import { speechView } from './views/speech-view.ts';
import { spokenSearchView } from './views/spoken-search-view.ts';
import { videoCaptionView } from './views/video-caption-view.ts';
import { vqaView } from './views/vqa-view.ts';

// an API key typed earlier in this tab
const savedKey = sessionStorage.getItem('seqserve-api-key');
if (savedKey) (document.getElementById('api-key') as HTMLInputElement).value = savedKey;

chatView();
speechView();
captionView();
videoCaptionView();
qaView();
spokenSearchView();
slotsView();
classifyView();
g2pView();
vqaView();

// Offline after the first visit: the service worker keeps the page, onnxruntime-web and model files.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err: Error) => {
    document.getElementById('status')!.textContent = `offline use is not available: ${err.message}`;
  });
}

// for tests, benchmarks and other scripts on the page
Object.assign(window, { seqserve: { loadWebModel, decodeAudioFile, ort } });
document.body.dataset.ready = 'true';
