(()=>{const $=i=>document.getElementById(i),tb=$("rows"),q=$("q"),sum=$("sum"),err=$("err"),tpl=$("tpl"),tp=$("tail"),to=$("to"),rows=new Map;
for(const r of tb.rows)rows.set(r.dataset.n,r);q.hidden=false;
const clk=s=>(s/3600|0)+":"+String(s/60%60|0).padStart(2,"0")+":"+String(s%60).padStart(2,"0"),
set=(e,v)=>{v=v==null?"":""+v;if(e.textContent!==v)e.textContent=v},
show=()=>{const v=q.value.trim().toLowerCase();for(const[n,r]of rows)r.hidden=!!v&&!n.toLowerCase().includes(v)&&!r.className.toLowerCase().includes(v)};
function draw(list){const seen=new Set,by={};list.forEach((s,i)=>{seen.add(s.name);let r=rows.get(s.name);
if(!r){r=tpl.content.firstElementChild.cloneNode(true);r.dataset.n=s.name;r.cells[0].textContent=s.name;for(const b of r.querySelectorAll("button"))b.value=s.name;r.querySelector("a").href="logtail/"+encodeURIComponent(s.name);rows.set(s.name,r)}
if(tb.rows[i]!==r)tb.insertBefore(r,tb.rows[i]||null);const c=r.cells,h=s.health.replace(" ","-");r.className="S-"+s.state;
set(c[1],s.state);set(c[2],s.pid);set(c[3],s.pid==null?"":clk(s.uptime_secs));set(c[4],s.health);c[4].className="h "+h;set(c[5],s.restarts);set(c[6],s.last_exit);set(c[7],s.detail);c[7].title=s.command;by[s.state]=(by[s.state]||0)+1});
for(const[n,r]of rows)if(!seen.has(n)){r.remove();rows.delete(n)}
set(sum,list.length+" services"+Object.keys(by).sort().map(k=>" · "+by[k]+" "+k.toLowerCase()).join(""));show()}
let busy=0,again=0,timer=0;
async function poll(){clearTimeout(timer);if(busy){again=1;return}if(document.hidden)return;busy=1;
try{const r=await fetch("status.json",{cache:"no-store"});if(!r.ok)throw r.status+" "+await r.text();draw(await r.json());set(err,"")}catch(e){set(err,"no answer from the daemon: "+e)}
busy=0;timer=setTimeout(poll,again?0:1500);again=0}
document.addEventListener("visibilitychange",poll);q.oninput=show;
document.addEventListener("submit",async e=>{e.preventDefault();const b=e.submitter;if(!b)return;const d=new URLSearchParams;
d.set("token",$("f").token.value);d.set(b.name,b.value);b.disabled=true;
try{const r=await fetch("action",{method:"POST",body:d,redirect:"manual"});if(r.type!="opaqueredirect"&&!r.ok)set(err,await r.text())}catch(x){set(err,"no answer from the daemon: "+x)}
b.disabled=false;poll()});
let ac;$("tx").onclick=e=>{e.preventDefault();ac&&ac.abort();tp.hidden=true};
document.addEventListener("click",async e=>{const a=e.target.closest("a.log");if(!a)return;e.preventDefault();ac&&ac.abort();ac=new AbortController;
set($("tn"),a.closest("tr").dataset.n);to.textContent="";tp.hidden=false;
try{const r=await fetch(a.href,{signal:ac.signal,cache:"no-store"}),rd=r.body.getReader(),dec=new TextDecoder;
for(;;){const{value,done}=await rd.read();if(done)break;to.textContent=(to.textContent+dec.decode(value,{stream:true})).slice(-200000);to.scrollTop=to.scrollHeight}}catch(x){}});
poll()})();
