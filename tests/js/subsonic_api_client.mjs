// Drives the npm Subsonic client `subsonic-api` against a live SKYBEAT and prints what it got, as JSON.
// Environment: SUBSONIC_API_MODULE (the installed package's entry file), SKYBEAT_URL, SKYBEAT_USER,
// SKYBEAT_PASSWORD (the app password: token auth) or SKYBEAT_API_KEY, SKYBEAT_POST=1 for form POST, SKYBEAT_SONG.
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";

const { SubsonicAPI } = await import(pathToFileURL(process.env.SUBSONIC_API_MODULE).href);
const env = process.env;
const auth = env.SKYBEAT_API_KEY
  ? { apiKey: env.SKYBEAT_API_KEY }
  : { username: env.SKYBEAT_USER, password: env.SKYBEAT_PASSWORD };
const api = new SubsonicAPI({ url: env.SKYBEAT_URL, auth, post: env.SKYBEAT_POST === "1" });

const ping = await api.ping();
const genres = await api.getGenres();
const albums = await api.getAlbumList2({ type: "alphabeticalByName", size: 50 });
const stream = await api.stream({ id: env.SKYBEAT_SONG });
const bytes = Buffer.from(await stream.arrayBuffer());

console.log(JSON.stringify({
  ping: ping.status,
  genres: genres.genres.genre,
  albums: albums.albumList2.album.map((album) => ({ name: album.name, createdIsDate: album.created instanceof Date })),
  stream: {
    status: stream.status,
    contentType: stream.headers.get("content-type"),
    sha256: createHash("sha256").update(bytes).digest("hex"),
  },
}));
